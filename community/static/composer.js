// The composer on the ask, answer and edit forms (and its toolbar on comment forms): a Markdown toolbar, a live preview rendered by the
// server's own renderer (POST /api/v1/preview), images pasted, dropped or picked (POST /api/v1/uploads),
// and a draft kept in this browser until the form is posted. Without this file the forms work as before.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) return;
  var PREFIX = "draft:";
  var MAX_IMAGE = 10 * 1024 * 1024;
  var TYPES = ["image/jpeg", "image/png", "image/webp"];
  var KEEP_DAYS = 30;
  var EMPTY = "Your post shows here as you type.";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  function csrf(form) {
    var input = form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function errorMessage(response, fallback) {
    return response.json().then(function (data) {
      return data && data.error && data.error.message ? data.error.message : fallback;
    }, function () { return fallback; });
  }

  // --- Editing the text ------------------------------------------------------------------------

  function replaceRange(area, start, end, text, selectFrom, selectTo) {
    area.focus();
    area.setSelectionRange(start, end);
    var done = false;
    try { done = document.execCommand && document.execCommand("insertText", false, text); } catch (e) { done = false; }
    if (!done || area.value.slice(start, start + text.length) !== text) {
      area.setRangeText(text, start, end, "end");
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
    area.setSelectionRange(start + (selectFrom == null ? text.length : selectFrom),
                           start + (selectTo == null ? text.length : selectTo));
  }

  function wrap(area, before, after, placeholder) {
    var s = area.selectionStart, e = area.selectionEnd;
    var picked = area.value.slice(s, e) || placeholder;
    replaceRange(area, s, e, before + picked + after, before.length, before.length + picked.length);
  }

  function prefixLines(area, prefix) {
    var value = area.value, s = area.selectionStart, e = area.selectionEnd;
    var from = value.lastIndexOf("\n", s - 1) + 1;
    var to = value.indexOf("\n", e > s && value[e - 1] === "\n" ? e - 1 : e);
    if (to < 0) to = value.length;
    var lines = value.slice(from, to).split("\n").map(function (line) { return prefix + line; });
    var text = lines.join("\n");
    replaceRange(area, from, to, text, text === prefix ? text.length : 0, text.length);
  }

  var ACTIONS = {
    bold: function (a) { wrap(a, "**", "**", "bold text"); },
    italic: function (a) { wrap(a, "*", "*", "italic text"); },
    link: function (a) {
      var picked = a.value.slice(a.selectionStart, a.selectionEnd);
      if (/^https?:\/\/\S+$/.test(picked)) wrap(a, "[link text](", ")", "");
      else {
        var s = a.selectionStart, e = a.selectionEnd, label = picked || "link text";
        var text = "[" + label + "](https://)";
        replaceRange(a, s, e, text, label.length + 3, label.length + 11);
      }
    },
    code: function (a) {
      var picked = a.value.slice(a.selectionStart, a.selectionEnd);
      if (picked.indexOf("\n") >= 0) wrap(a, "```\n", "\n```", "");
      else wrap(a, "`", "`", "code");
    },
    list: function (a) { prefixLines(a, "- "); },
    quote: function (a) { prefixLines(a, "> "); }
  };
  var BUTTONS = [
    ["bold", "B", "Bold (Ctrl+B)"], ["italic", "I", "Italic (Ctrl+I)"], ["link", "Link", "Link (Ctrl+K)"],
    ["code", "Code", "Code"], ["list", "List", "Bulleted list"], ["quote", "Quote", "Quote"]
  ];
  var SHORTCUTS = { b: "bold", i: "italic", k: "link" };

  // --- The toolbar (a WAI-ARIA toolbar: Tab reaches it once, arrow keys move along it) -------------

  function toolbar(area, pick) {
    var bar = el("div", { role: "toolbar", "class": "composer-tools", "aria-label": "Formatting", "aria-controls": area.id });
    BUTTONS.forEach(function (b, i) {
      var button = el("button", { type: "button", "class": "composer-tool tool-" + b[0], "aria-label": b[2], title: b[2],
                                  tabindex: i === 0 ? "0" : "-1" }, b[1]);
      button.addEventListener("click", function () { ACTIONS[b[0]](area); });
      bar.appendChild(button);
    });
    if (pick) {  // comments have no pictures
      var image = el("button", { type: "button", "class": "composer-tool tool-image", "aria-label": "Add an image (JPEG, PNG or WebP, up to 10 MB)",
                                 title: "Add an image: pick one, paste or drop a screenshot", tabindex: "-1" }, "Image");
      image.addEventListener("click", function () { pick.click(); });
      bar.appendChild(image);
    }
    bar.addEventListener("keydown", function (event) {
      var buttons = Array.prototype.slice.call(bar.querySelectorAll("button"));
      var i = buttons.indexOf(document.activeElement);
      if (i < 0) return;
      var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[event.key];
      if (next == null) return;
      event.preventDefault();
      next = (next + buttons.length) % buttons.length;
      buttons[i].setAttribute("tabindex", "-1");
      buttons[next].setAttribute("tabindex", "0");
      buttons[next].focus();
    });
    area.addEventListener("keydown", function (event) {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
      var action = SHORTCUTS[event.key.toLowerCase()];
      if (!action) return;
      event.preventDefault();
      ACTIONS[action](area);
    });
    return bar;
  }

  // --- Live preview -----------------------------------------------------------------------------

  function livePreview(form, area, region, say) {
    var timer = null, seq = 0, last = null;
    var content = region.querySelector(".body");

    function render() {
      var text = area.value;
      if (text === last) return;
      last = text;
      if (!text.trim()) { content.textContent = ""; content.appendChild(el("p", { "class": "hint" }, EMPTY)); return; }
      var mine = ++seq;
      fetch("/api/v1/preview", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(form) },
        body: JSON.stringify({ body: text })
      }).then(function (r) {
        if (r.ok) return r.json().then(function (data) {
          if (mine !== seq) return;
          content.innerHTML = data.html;  // the server's sanitised rendering, as the post will store it
        });
        return errorMessage(r, "The preview is not available right now.").then(function (message) {
          if (mine === seq) { say(message, true); last = null; }
        });
      }).catch(function () { last = null; });
    }

    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 400);
    });
    render();
  }

  // --- Images -----------------------------------------------------------------------------------

  function images(form, area, pick, say) {
    var count = 0;

    function upload(file) {
      if (TYPES.indexOf(file.type) < 0 && file.type) {
        say("“" + file.name + "” is not a JPEG, PNG or WebP image; only those can be added.", true);
        return;
      }
      if (file.size > MAX_IMAGE) {
        say("“" + file.name + "” is larger than 10 MB; try a smaller screenshot.", true);
        return;
      }
      var mark = "![Uploading " + (file.name || "image").replace(/[\[\]()]/g, "") + " (" + (++count) + ")…]()";
      var s = area.selectionStart, e = area.selectionEnd;
      var before = s > 0 && area.value[s - 1] !== "\n" ? "\n" : "";
      replaceRange(area, s, e, before + mark + "\n");
      say("Uploading " + (file.name || "the image") + "…", false);
      var data = new FormData();
      data.append("file", file, file.name || "screenshot.png");
      fetch("/api/v1/uploads", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf(form) }, body: data
      }).then(function (r) {
        if (r.ok) return r.json().then(function (json) { swap(mark, json.markdown); say("Image added.", false); });
        return errorMessage(r, "The image could not be uploaded.").then(function (message) { drop(mark); say(message, true); });
      }).catch(function () {
        drop(mark);
        say("The image could not be uploaded; check your connection and try again.", true);
      });
    }

    // The placeholder becomes the image's Markdown (or goes, on a refusal) without taking the focus
    // from wherever the member went on typing meanwhile.
    function swap(mark, text) {
      var at = area.value.indexOf(mark);
      if (at < 0) {
        if (!text) return;
        at = area.value.length;
        text = (at && area.value[at - 1] !== "\n" ? "\n" : "") + text;
        mark = "";
      }
      area.setRangeText(text, at, at + mark.length, "preserve");
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function drop(mark) {
      swap(area.value.indexOf(mark + "\n") >= 0 ? mark + "\n" : mark, "");
    }

    function uploadAll(list) {
      Array.prototype.slice.call(list || [], 0, 5).forEach(upload);
    }

    pick.addEventListener("change", function () { uploadAll(pick.files); pick.value = ""; });
    area.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (files && files.length) { event.preventDefault(); uploadAll(files); }
    });
    area.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0) {
        event.preventDefault();
        area.classList.add("composer-drop");
      }
    });
    area.addEventListener("dragleave", function () { area.classList.remove("composer-drop"); });
    area.addEventListener("drop", function (event) {
      area.classList.remove("composer-drop");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) { event.preventDefault(); uploadAll(files); }
    });
  }

  // --- Drafts -----------------------------------------------------------------------------------

  function storage() {
    try { var s = window.localStorage; s.setItem(PREFIX + "probe", "1"); s.removeItem(PREFIX + "probe"); return s; }
    catch (e) { return null; }
  }

  function readDraft(store, key) {
    try { return JSON.parse(store.getItem(key) || "null"); } catch (e) { return null; }
  }

  function fields(form) {
    return Array.prototype.filter.call(form.querySelectorAll("input, textarea"), function (f) {
      return f.name && f.name !== "csrf_token" && (f.tagName === "TEXTAREA" || f.type === "text" || f.type === "search" || !f.getAttribute("type"));
    });
  }

  function snapshot(form) {
    var out = {};
    fields(form).forEach(function (f) { out[f.name] = f.value; });
    return out;
  }

  // Drafts posted from a page that led here: their form is not on this page, so the post went through.
  function clearPosted(store, here) {
    var now = Date.now();
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (!key || key.indexOf(PREFIX) !== 0 || here.indexOf(key) >= 0) continue;
      var d = readDraft(store, key);
      if (!d || d.pending || now - (d.at || 0) > KEEP_DAYS * 86400000) store.removeItem(key);
    }
  }

  function keepDraft(form, store, key) {
    var base = JSON.stringify(snapshot(form));
    var errors = !!form.querySelector(".field-error");
    var d = readDraft(store, key);
    if (d && d.pending) {
      var doneMark = form.getAttribute("data-draft-done");
      if (doneMark && location.hash.indexOf(doneMark) === 0 && !errors) { store.removeItem(key); d = null; }
    }
    if (d && d.from === base) {  // the page shows what the draft started from: put the draft back
      fields(form).forEach(function (f) {
        if (d.fields && typeof d.fields[f.name] === "string" && f.value !== d.fields[f.name]) {
          f.value = d.fields[f.name];
          f.dispatchEvent(new Event("input", { bubbles: true }));
        }
      });
    } else if (d) {
      store.removeItem(key);  // the page brings newer text (the form came back with it) or the post changed since
      d = null;
    }
    if (d && d.pending) { d.pending = false; store.setItem(key, JSON.stringify(d)); }

    var timer = null;
    function save(pending) {
      var now = snapshot(form);
      if (JSON.stringify(now) === base && !pending) { store.removeItem(key); return; }
      try { store.setItem(key, JSON.stringify({ from: base, fields: now, at: Date.now(), pending: !!pending })); }
      catch (e) { /* storage full: the form still posts */ }
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { timer = null; save(false); }, 300); });
    window.addEventListener("pagehide", function () { if (timer) { clearTimeout(timer); save(false); } });  // the last keystrokes too
    form.addEventListener("submit", function (event) {
      clearTimeout(timer);
      timer = null;
      if (!event.defaultPrevented) save(true);
    });
  }

  // --- Putting it together ------------------------------------------------------------------------

  function setUp(area) {
    var form = area.form;
    if (!form || !area.id) return;
    if (area.getAttribute("data-composer") === "comment") {  // a comment: the toolbar only
      area.parentNode.insertBefore(toolbar(area, null), area);
      return;
    }
    var pick = el("input", { type: "file", accept: TYPES.join(","), "class": "composer-file", hidden: "",
                             "aria-label": "Image to add", "data-for": area.id });
    var status = el("p", { "class": "composer-status", role: "status" });
    var region = el("section", { "class": "composer-preview", "aria-live": "polite", "aria-label": "Preview" });
    region.appendChild(el("h3", { "class": "composer-preview-title" }, "Preview"));
    region.appendChild(el("div", { "class": "body" }));
    area.parentNode.insertBefore(toolbar(area, pick), area);
    area.parentNode.insertBefore(pick, area);
    var anchor = area;
    while (anchor.nextElementSibling && anchor.nextElementSibling.matches(".hint, .field-error")) anchor = anchor.nextElementSibling;
    anchor.parentNode.insertBefore(region, anchor.nextSibling);
    anchor.parentNode.insertBefore(status, anchor.nextSibling);

    function say(message, bad) {
      status.textContent = message;
      status.classList.toggle("field-error", false);
      status.classList.toggle("composer-problem", !!bad);
    }
    images(form, area, pick, say);
    livePreview(form, area, region, say);
  }

  var areas = Array.prototype.slice.call(document.querySelectorAll("textarea[data-composer]"));
  var store = storage();
  if (store) {
    var forms = document.querySelectorAll("form[data-draft]");
    var here = Array.prototype.map.call(forms, function (f) { return PREFIX + f.getAttribute("data-draft"); });
    clearPosted(store, here);
    Array.prototype.forEach.call(forms, function (f) { keepDraft(f, store, PREFIX + f.getAttribute("data-draft")); });
  }
  areas.forEach(setUp);
})();
