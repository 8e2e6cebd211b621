// Keeps the header's unread count current without a reload: asks /api/v1/me/unread every
// data-unread-poll seconds, only while the page is visible (and once when it becomes visible again).
(function () {
  "use strict";
  var link = document.querySelector("a.inbox-link[data-unread-poll]");
  if (!link || !window.fetch) return;  // anonymous: no inbox link, nothing to do
  var seconds = Math.max(1, parseInt(link.getAttribute("data-unread-poll"), 10) || 45);
  var timer = null;

  function show(n) {
    var badge = link.querySelector(".badge");
    if (n > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge";
        link.appendChild(document.createTextNode(" "));
        link.appendChild(badge);
      }
      badge.textContent = String(n);
      badge.setAttribute("aria-label", n + " unread");
    } else if (badge) {
      if (badge.previousSibling && badge.previousSibling.nodeType === 3) {
        badge.previousSibling.nodeValue = badge.previousSibling.nodeValue.replace(/\s+$/, "");
      }
      badge.remove();
    }
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
  }

  function poll() {
    fetch("/api/v1/me/unread", { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { stop(); document.removeEventListener("visibilitychange", changed); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data && typeof data.unread === "number") show(data.unread); })
      .catch(function () {});  // offline for a moment: the next poll tries again
  }

  function start() {
    stop();
    if (document.visibilityState === "visible") timer = setInterval(poll, seconds * 1000);
  }

  function changed() {
    if (document.visibilityState === "visible") { poll(); start(); } else { stop(); }
  }

  document.addEventListener("visibilitychange", changed);
  start();
})();
