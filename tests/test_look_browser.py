"""The look in a real browser (community/brand.py, site.css): the header stays one row at 1280 px for
an admin (who sees the most items) and folds into a keyboard-reachable menu at 390 px; a brand set
in the admin page colours buttons in the light and the dark scheme; text keeps its contrast in both
schemes (measured here, and by axe-core when it is installed). SCREENSHOTS=folder saves each page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from community import questions, slugs
from community.support import tickets
from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent


async def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"look-{name}.png"), full_page=True)


async def _community(users) -> dict[str, str]:
    """An admin, a thread with an accepted answer and a comment, and an escalated question."""
    await users("boss", 1, "admin")
    asker = await users("asker", 100)
    helper = await users("helper", 600)
    agent = await users("agent", 1, "staff")
    q = await questions.ask(asker, "Roaming data stopped working in Lisbon", "Calls work but no data since I landed this morning.",
                            ["roaming", "data"])
    a = await questions.answer(helper, q.id, "Turn on **data roaming** in Settings > Mobile network, then restart the phone.")
    await questions.comment(asker, a.id, "That was it, thank you so much!")
    from community import acceptance

    await acceptance.accept(asker, q.id, a.id)
    waiting = await questions.ask(asker, "Charged twice for my March top-up", "My bank shows two payments of £20 for one top-up.",
                                  ["billing", "top-up"])
    await tickets.escalate(agent, waiting.id, "Billing needs an agent")
    return {"thread": slugs.question_path(q)}


async def _row_tops(page, selector: str) -> list[float]:
    return await page.eval_on_selector_all(
        selector, "els => els.filter(e => e.getClientRects().length).map(e => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2))")


async def test_header_is_one_row_on_a_desktop_and_a_menu_on_a_phone(live_server, browser, users):
    await _community(users)
    url = live_server.url
    desk = await new_page(browser)
    await log_in(desk, url, "boss")
    header = await desk.eval_on_selector(".top", "e => e.getBoundingClientRect().height")
    assert header < 70, f"the header is {header}px high: it wrapped"
    centres = await _row_tops(desk, ".top .brand, .top .search, .nav-items > li, .me > a, .me > form")
    assert len(centres) == 12  # logo, search, 7 sections (Questions ... Ask), inbox, profile, log out
    assert max(centres) - min(centres) <= 6, centres
    for name in ("Questions", "Tags", "Support desk", "Insights", "Review", "Admin", "Ask"):
        assert await desk.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).is_visible(), name
    assert not await desk.locator(".menu summary").is_visible()
    truncated = await desk.eval_on_selector(".brand-name", "e => e.scrollWidth > e.clientWidth")
    assert not truncated
    await assert_fits_width(desk)
    await _shot(desk, "header-admin-desktop")

    phone = await new_page(browser, phone=True)
    await log_in(phone, url, "boss")
    await assert_fits_width(phone)
    assert not await phone.get_by_role("link", name="Support desk").is_visible()
    # Keyboard only: Tab to the menu, open it with Enter, Tab into its first item.
    for _ in range(12):
        await phone.keyboard.press("Tab")
        if await phone.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    assert await phone.evaluate("document.activeElement.textContent.trim()") == "Menu"
    await phone.keyboard.press("Enter")
    assert await phone.locator("details.menu").get_attribute("open") == ""
    for name in ("Questions", "Support desk", "Insights", "Review", "Admin"):
        assert await phone.get_by_role("link", name=name, exact=True).is_visible(), name
    assert await phone.get_by_role("button", name="Log out").is_visible()
    await phone.keyboard.press("Tab")
    assert await phone.evaluate("document.activeElement.textContent.trim()") == "Questions"
    await assert_fits_width(phone)
    await _shot(phone, "menu-phone")
    await phone.keyboard.press("Enter")
    await phone.wait_for_url(url + "/questions")
    assert await phone.locator('.nav-items a[href="/questions"]').get_attribute("aria-current") == "page"  # (folded again)


# Text contrast as WCAG measures it: each element holding text, its colour over the backgrounds it sits on.
CONTRAST_JS = """() => {
  const parse = c => { const m = /rgba?\\(([^)]+)\\)/.exec(c); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]); };
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let out = parse(getComputedStyle(document.documentElement).backgroundColor) || [255, 255, 255, 1];
    if (out[3] < 1) out = over(out, [255, 255, 255, 1]);
    for (let i = layers.length - 1; i >= 0; i--) out = over(layers[i], out); return out; };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const s = getComputedStyle(el);
    if (!el.getClientRects().length || s.visibility === "hidden" || parseFloat(s.fontSize) < 1) continue;
    if (el.closest('[aria-hidden="true"], :disabled, .visually-hidden, option, select')) continue;
    const bg = background(el), fg = over(parse(s.color), bg);
    const l1 = lum(fg), l2 = lum(bg), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    if (ratio < need) failures.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${s.color} on rgb(${bg.slice(0, 3).map(Math.round)}) ${ratio.toFixed(2)}:1`);
  }
  return failures;
}"""


def _axe_source() -> str | None:
    for candidate in (os.environ.get("AXE_CORE_JS", ""), str(ROOT / "node_modules" / "axe-core" / "axe.min.js")):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    return None


async def _pages(url: str, thread: str) -> list[tuple[str, str]]:
    return [("home", "/"), ("thread", thread), ("desk", "/support"), ("brand", "/admin/brand"), ("tags", "/tags")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_text_keeps_its_contrast_in_both_schemes(live_server, browser, users, scheme):
    made = await _community(users)
    url = live_server.url
    for phone in (False, True):
        context = await browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900},
                                            color_scheme=scheme, is_mobile=phone)
        page = await context.new_page()
        await log_in(page, url, "boss")
        for name, path in await _pages(url, made["thread"]):
            await page.goto(url + path)
            if phone and name == "home":
                await page.locator(".menu summary").click()  # the open menu's items too
            failures = await page.evaluate(CONTRAST_JS)
            assert failures == [], f"{name} ({scheme}, {'phone' if phone else 'desktop'}): {failures}"
            await _shot(page, f"{name}-{'phone' if phone else 'desktop'}-{scheme}")
        await context.close()


async def test_brand_colour_reaches_buttons_in_light_and_dark(live_server, browser, users):
    await _community(users)
    url = live_server.url
    admin = await new_page(browser)
    await log_in(admin, url, "boss")
    await admin.goto(url + "/admin/brand")
    await admin.get_by_label("Community name").fill("Lumen Mobile Community")
    await admin.get_by_role("textbox", name="Primary colour", exact=True).fill("#c3e88d")  # too light for white text
    await admin.get_by_role("button", name="Save the brand").click()
    error = admin.locator("#primary_color-error")
    assert "too light for white text on buttons" in await error.inner_text()
    assert await admin.get_by_label("Community name").input_value() == "Lumen Mobile Community"  # kept
    await admin.get_by_role("textbox", name="Primary colour", exact=True).fill("#6d28d9")
    await admin.get_by_role("button", name="Save the brand").click()
    await admin.wait_for_url(url + "/admin/brand?done=saved")

    for scheme, page_bg in (("light", "rgb(255, 255, 255)"), ("dark", "rgb(15, 20, 25)")):
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        page = await context.new_page()
        await page.goto(url + "/")
        assert await page.locator(".brand-name").inner_text() == "Lumen Mobile Community"
        assert re.search(r"· Lumen Mobile Community$", await page.title())
        button = page.get_by_role("link", name="Ask a question")
        assert await button.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(109, 40, 217)"
        assert await button.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
        assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == page_bg
        assert await page.evaluate(CONTRAST_JS) == []
        await context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_nothing_in_either_scheme(live_server, browser, users, scheme):
    source = _axe_source()
    if source is None:
        pytest.skip("axe-core is not installed here: `npm install axe-core` at the repository root, or set AXE_CORE_JS")
    made = await _community(users)
    url = live_server.url
    for phone in (False, True):
        context = await browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900},
                                            color_scheme=scheme, is_mobile=phone, bypass_csp=True)
        page = await context.new_page()
        await log_in(page, url, "boss")
        for name, path in await _pages(url, made["thread"]):
            await page.goto(url + path)
            await page.evaluate(source)
            result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
            assert found == [], f"{name} ({scheme}, {'phone' if phone else 'desktop'}): {found}"
        await context.close()
