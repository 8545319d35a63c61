/* The client portal's only script (no inline script anywhere: the CSP forbids it).
   1. Confirms a person's view of the page: POST /d/<token>/vu once the page is visible and the
      reader interacts with it, or after it stayed visible for data-dwell ms. Automation
      (navigator.webdriver) never confirms, nor a page without a view id (the thanks after an
      answer: the answer's post confirmed the view). See services/portal/domain/visitors.py.
   2. The optional drawn signature: a canvas whose PNG goes into the hidden signature_png field.
   The page works without it: typed name to sign, downloads and forms confirm the view. */
(function () {
  "use strict";

  function confirmView(main) {
    var url = main.getAttribute("data-view-url");
    var dwell = parseInt(main.getAttribute("data-dwell"), 10);
    if (!url || !main.getAttribute("data-view-id") || navigator.webdriver) { return; }
    if (!(dwell >= 0)) { dwell = 4000; }
    var sent = false;
    var timer = null;
    var events = ["pointerdown", "pointermove", "keydown", "scroll", "wheel", "touchstart"];

    function stop() {
      if (timer) { clearTimeout(timer); timer = null; }
      events.forEach(function (name) { window.removeEventListener(name, onInteraction, true); });
      document.removeEventListener("visibilitychange", onVisibility);
    }
    function send() {
      if (sent || document.visibilityState !== "visible") { return; }
      sent = true;
      stop();
      var body = new URLSearchParams();
      body.set("csrf_token", main.getAttribute("data-csrf"));
      body.set("vue", main.getAttribute("data-view-id"));
      main.setAttribute("data-view-state", "sending");
      fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true,
                   headers: { "Content-Type": "application/x-www-form-urlencoded" } })
        .then(function (reply) { main.setAttribute("data-view-state", reply.ok ? "sent" : "refused"); })
        .catch(function () { main.setAttribute("data-view-state", "failed"); });
    }
    function onInteraction() { send(); }
    function onVisibility() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (document.visibilityState === "visible") { timer = setTimeout(send, dwell); }
    }
    events.forEach(function (name) { window.addEventListener(name, onInteraction, { capture: true, passive: true }); });
    document.addEventListener("visibilitychange", onVisibility);
    onVisibility();
  }

  function signaturePad(pad) {
    var canvas = pad.querySelector("canvas");
    var field = document.getElementById("signature_png");
    var clear = pad.querySelector("[data-pad-clear]");
    if (!canvas || !field || !canvas.getContext) { return; }
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var last = null;
    pad.hidden = false;

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return { x: (event.clientX - box.left) * canvas.width / box.width,
               y: (event.clientY - box.top) * canvas.height / box.height };
    }
    function style() {
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#1d2430";
    }
    function save() { field.value = canvas.toDataURL("image/png"); }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      last = point(event);
      if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
      style();
      ctx.beginPath();
      ctx.arc(last.x, last.y, 1.2, 0, Math.PI * 2);
      ctx.fillStyle = "#1d2430";
      ctx.fill();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var next = point(event);
      style();
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(next.x, next.y);
      ctx.stroke();
      last = next;
    });
    function end() {
      if (!drawing) { return; }
      drawing = false;
      save();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        field.value = "";
      });
    }
    if (field.value.indexOf("data:image/png;base64,") === 0) {  // the form came back: show what was drawn
      var image = new Image();
      image.onload = function () { ctx.drawImage(image, 0, 0, canvas.width, canvas.height); };
      image.src = field.value;
    }
  }

  function start() {
    var main = document.querySelector("main[data-view-url]");
    if (main) { confirmView(main); }
    var pad = document.querySelector("[data-pad]");
    if (pad) { signaturePad(pad); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
