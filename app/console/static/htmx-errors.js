/* wardcam console: what htmx shows of a refused request. base.html has htmx swap a 4xx, so
   that a refusal the console answers as HTML (app/console/web.py error_fragment: a sentence in
   the reader's language) is seen where the answer was to go. A 4xx that is not HTML (the
   API's JSON for a malformed request, a server limit's plain text) is not pasted into the
   page. */
(function () {
  'use strict';
  document.addEventListener('htmx:beforeSwap', function (event) {
    var xhr = event.detail.xhr;
    var type = xhr.getResponseHeader('Content-Type') || '';
    if (xhr.status >= 400 && type.indexOf('text/html') !== 0) event.detail.shouldSwap = false;
  });
})();
