// Progressive enhancement of the survey page: answers post with fetch and the server's chat
// fragment replaces the old one, so the page never reloads. Without this script the same forms
// post normally and the server redirects to the next question.
(function () {
  "use strict";
  var chat = document.getElementById("chat");
  if (!chat || !window.fetch || !window.FormData || !window.URLSearchParams) return;
  var busy = false;

  function focusCurrent() {
    var target = chat.querySelector("#answer-text") || chat.querySelector("#question") ||
      chat.querySelector("#thanks") || chat.querySelector("#notice-title");
    if (target) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  function postNatively(form, submitter) {
    form.removeAttribute("data-enhance");
    Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
    if (submitter && submitter.name) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = submitter.name;
      field.value = submitter.value;
      form.appendChild(field);
    }
    form.submit();
  }

  chat.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-enhance")) return;
    event.preventDefault();
    if (busy) return;
    busy = true;
    var submitter = event.submitter || null;
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var status = form.querySelector("[role=status]");
    if (status) status.textContent = status.getAttribute("data-sending") || "";
    form.classList.add("sending");
    Array.prototype.forEach.call(form.elements, function (el) { el.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "X-Palaute-Fragment": "1" },
      credentials: "same-origin",
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("text/html") !== 0) throw new Error("unexpected response");
      return response.text();
    }).then(function (html) {
      chat.innerHTML = html;
      busy = false;
      focusCurrent();
    }).catch(function () {
      busy = false;
      postNatively(form, submitter);
    });
  });
})();
