// The brand page's colour field: a colour picker beside the text field, each following the other.
// Without this script the text field alone works.
(function () {
  "use strict";
  var text = document.querySelector("input[data-color-picker]");
  if (!text) return;
  var picker = document.createElement("input");
  picker.type = "color";
  picker.className = "color-picker";
  picker.setAttribute("aria-label", text.getAttribute("data-color-picker"));
  var hex = /^#[0-9a-fA-F]{6}$/;
  if (hex.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
  picker.addEventListener("input", function () { text.value = picker.value; });
  text.addEventListener("input", function () {
    if (hex.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
  });
  var row = document.createElement("span");
  row.className = "color-row";
  text.parentNode.insertBefore(row, text);
  row.appendChild(text);
  row.appendChild(picker);
})();
