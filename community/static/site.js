// Small enhancements only; every form works without this file.
(function () {
  "use strict";
  function csrf(form) {
    var input = form && form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  // Voting without a reload: post to the JSON API, then update the score and pressed state.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("vote-form")) return;
    var button = event.submitter;
    if (!button || !window.fetch) return;
    event.preventDefault();
    var box = form.closest(".votes");
    var postId = box.getAttribute("data-post");
    var value = parseInt(button.value, 10);
    fetch("/api/v1/posts/" + postId + "/vote", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(form) },
      body: JSON.stringify({ value: value })
    }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        var said = box.closest(".post-layout").querySelector(".vote-message");
        if (said) said.remove();
        if (!res.ok) {  // said beside the arrows, not in a browser alert
          said = document.createElement("p");
          said.className = "vote-message";
          said.setAttribute("role", "alert");
          said.textContent = res.data.error ? res.data.error.message : "Your vote was not recorded.";
          box.closest(".post-layout").querySelector(".post-main").prepend(said);
          return;
        }
        box.querySelector(".score").textContent = res.data.score;
        var up = form.querySelector(".vote.up"), down = form.querySelector(".vote.down");
        up.classList.toggle("on", value === 1); down.classList.toggle("on", value === -1);
        up.setAttribute("aria-pressed", value === 1); down.setAttribute("aria-pressed", value === -1);
        up.value = value === 1 ? 0 : 1; down.value = value === -1 ? 0 : -1;
      })
      .catch(function () { form.submit(); });
  });
})();
