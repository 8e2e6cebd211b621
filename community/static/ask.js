// Similar questions on the ask page: as the title (and then the body) is typed, ask the server for
// up to 5 similar threads and show them, solved ones first. "This solved my problem" records a
// deflection and does not post (after asking, when something is typed, whether to discard the draft
// that community/static/composer.js keeps). Without this file the ask form works exactly the same.
(function () {
  "use strict";
  var form = document.getElementById("ask-form");
  var box = document.getElementById("similar");
  var list = document.getElementById("similar-list");
  if (!form || !box || !list || !window.fetch) return;
  var title = form.querySelector("#title");
  var body = form.querySelector("#body");
  var shown = form.querySelector("#suggestions-shown");
  var view = Math.random().toString(36).slice(2) + Date.now().toString(36);
  var timer = null, lastKey = "", seq = 0;

  function csrf() {
    var input = form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  function lookup() {
    var t = title.value.trim(), b = body ? body.value.trim() : "";
    if (t.length < 10 && b.length < 30) { box.hidden = true; return; }
    var key = t + "\n" + b.slice(0, 500);
    if (key === lastKey) return;
    lastKey = key;
    var mine = ++seq;
    var url = "/api/v1/similar?" + new URLSearchParams({ title: t, body: b.slice(0, 1000), view: view });
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) { if (mine === seq) show(data.items || []); })
      .catch(function () { /* suggestions are a help, never a blocker */ });
  }

  function show(items) {
    list.textContent = "";
    if (!items.length) { box.hidden = true; return; }
    var ids = [];
    items.forEach(function (item) {
      ids.push(item.question_id);
      var li = el("li", { "class": "suggestion" + (item.solved ? " solved" : "") });
      if (item.solved) li.appendChild(el("span", { "class": "state state-solved" }, "Solved"));
      var link = el("a", {
        href: "/search/open?via=ask&question_id=" + item.question_id + "&view=" + view,
        target: "_blank", rel: "noopener"
      }, item.title);
      li.appendChild(link);
      li.appendChild(el("span", { "class": "meta" }, item.answer_count + (item.answer_count === 1 ? " answer" : " answers")));
      var button = el("button", { type: "button", "class": "secondary solved-it" }, "This solved my problem");
      button.addEventListener("click", function () { solved(item, button); });
      li.appendChild(button);
      list.appendChild(li);
    });
    if (shown) shown.value = view;
    box.hidden = false;
  }

  function typed() {
    return !!(title.value.trim() || (body && body.value.trim()));
  }

  function forgetDraft() {
    try { window.localStorage.removeItem("draft:" + form.getAttribute("data-draft")); } catch (e) { /* no storage */ }
  }

  function solved(item, button) {
    if (typed() && !window.confirm("Your question will not be posted, and what you have typed will be discarded. Discard your draft?")) return;
    button.disabled = true;
    fetch("/api/v1/deflections", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ question_id: item.question_id, view: view })
    }).then(function (r) {
      if (!r.ok) throw new Error("not recorded");
      var thanks = el("div", { "class": "thanks", role: "status", tabindex: "-1" });
      thanks.appendChild(el("h2", {}, "Glad that helped!"));
      var p = el("p", {}, "Your question was not posted. ");
      p.appendChild(el("a", { href: "/questions/" + item.question_id }, "Go to " + item.title));
      thanks.appendChild(p);
      if (form.getAttribute("data-draft")) forgetDraft();
      form.replaceWith(thanks);
      thanks.focus();
    }).catch(function () {
      button.disabled = false;
      button.textContent = "Could not record that; try again";
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(lookup, 350);
  }
  title.addEventListener("input", later);
  if (body) body.addEventListener("input", later);
  if (title.value) lookup();
})();
