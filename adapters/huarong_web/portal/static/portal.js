// The little script the portal has; every page works without it, except sign-in
// inside Telegram (the Mini App) which needs Telegram's own script.
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "";

  // A form is sent once: a second click while the first is on its way does nothing.
  // (The server refuses a second effect anyway: each form carries a one-time key.)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    // A disabled button is not sent: carry the clicked one's name=value in a hidden field.
    if (event.submitter && event.submitter.name) {
      var carried = document.createElement("input");
      carried.type = "hidden"; carried.setAttribute("data-carried", "1"); carried.name = event.submitter.name; carried.value = event.submitter.value;
      form.appendChild(carried);
    }
    var keep = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.type !== "password" && el.type !== "hidden" && el.type !== "file") { keep[el.name] = el.value; }
    });
    try { sessionStorage.setItem("draft:" + form.getAttribute("action"), JSON.stringify(keep)); } catch (e) { /* private mode */ }
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = true; });
  });

  // Back on a page after signing in again: what was typed is put back (never sent by itself).
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-keep]"), function (form) {
      var key = "draft:" + form.getAttribute("action");
      var saved = null;
      try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { saved = null; }
      if (!saved) { return; }
      Object.keys(saved).forEach(function (name) {
        var el = form.elements[name];
        if (el && !el.value) { el.value = saved[name]; }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      form.dataset.sent = "";
      Array.prototype.forEach.call(form.querySelectorAll("input[data-carried]"), function (el) { el.remove(); });
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = false; });
    });
  });

  // A page that succeeded forgets the draft of its form.
  var done = document.querySelector("[data-forget]");
  if (done) { try { sessionStorage.removeItem("draft:" + done.getAttribute("data-forget")); } catch (e) { /* ignore */ } }

  // Inside Telegram: sign in with the Mini App's initData, then go where asked.
  var tg = window.Telegram && window.Telegram.WebApp;
  var auto = document.querySelector("[data-mini-app-sign-in]");
  if (tg && tg.initData && auto) {
    fetch(base + "/api/v1/sign-in/telegram/mini-app", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ init_data: tg.initData })
    }).then(function (r) { if (r.ok) { window.location.replace(auto.getAttribute("data-next") || base + "/"); } });
  }

  // Live views (the check-in screen) reload their part every few seconds.
  var live = document.querySelector("[data-live]");
  if (live) {
    setInterval(function () {
      // A session that ran out must not put the sign-in page into the box.
      fetch(live.getAttribute("data-live"), { credentials: "same-origin", redirect: "manual" })
        .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
        .then(function (html) { if (html !== null) { live.innerHTML = html; } });
    }, 3000);
  }
})();
