// Search as you type on the admin pages: a form marked data-typeahead="ID" fetches its own page with what has
// been typed and puts the new page's element #ID in place of this one's. Without JavaScript the form is a plain
// GET form; the input keeps the focus, Enter still submits, and the address bar follows what is shown.
(function () {
  "use strict";
  var WAIT_MS = 250;
  document.querySelectorAll("form[data-typeahead]").forEach(function (form) {
    var target = form.getAttribute("data-typeahead");
    var input = form.querySelector("input[type=search]");
    if (!input || !document.getElementById(target)) return;
    var timer = null;
    var latest = 0;
    function refresh() {
      var url = new URL(form.action, window.location.href);
      new FormData(form).forEach(function (value, key) { url.searchParams.set(key, value); });
      var ticket = ++latest;
      var shown = document.getElementById(target);
      shown.classList.add("typeahead-busy");
      fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (ticket !== latest) return; // an older answer, overtaken by a newer one
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(target);
          var current = document.getElementById(target);
          if (fresh && current) {
            current.replaceWith(document.importNode(fresh, true));
            window.history.replaceState(null, "", url.toString());
          }
        })
        .catch(function () { /* the form still submits as usual */ })
        .finally(function () {
          var now = document.getElementById(target);
          if (now) now.classList.remove("typeahead-busy");
        });
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, WAIT_MS);
    });
  });
})();
