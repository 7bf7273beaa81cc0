/* wardcam console: footage upload with progress. Enhances <form data-upload> (templates/
   _macros.html, macro `upload_form`): the chosen file is sent as the raw request body to
   data-url (POST /cameras/{id}/footage?start=ISO&filename=...), as the API takes it, with the
   CSRF token in a header; the start time typed in the camera's zone goes with its offset
   (needs time.js). Fires `wardcam:uploaded` on the form with the segment the API returned.
   A refusal is said in the page's language where data-strings' `refusals` has its code. */
(function () {
  'use strict';
  var W = window.wardcam = window.wardcam || {};

  function fill(text, values) {
    return String(text || '').replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }

  function setup(form) {
    var S = JSON.parse(form.dataset.strings || '{}');
    var bar = form.querySelector('progress'), percent = form.querySelector('.upload__percent');
    var status = form.querySelector('[role=status]'), cancel = form.querySelector('[data-cancel]');
    var submit = form.querySelector('[type=submit]'), xhr = null;
    function say(text) { status.textContent = text; }
    function done() {
      xhr = null;
      submit.disabled = false;
      cancel.hidden = true;
    }
    function show(loaded, total) {
      bar.max = total || 1;
      bar.value = loaded;
      percent.textContent = Math.floor(100 * loaded / (total || 1)) + '%';
    }
    cancel.addEventListener('click', function () { if (xhr) xhr.abort(); });
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (xhr) return;
      var file = form.elements.namedItem('file').files[0];
      if (!file) return say(S.choose);
      var query = new URLSearchParams({ filename: file.name });
      var start = form.elements.namedItem('start').value;
      if (start) query.set('start', W.time.localToIso(start, form.dataset.timezone));
      var token = form.elements.namedItem('csrf_token');
      xhr = new XMLHttpRequest();
      xhr.open('POST', form.dataset.url + '?' + query.toString());
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      if (token) xhr.setRequestHeader(form.dataset.csrfHeader, token.value);
      xhr.upload.addEventListener('progress', function (e) {
        if (e.lengthComputable) show(e.loaded, e.total);
      });
      xhr.addEventListener('load', function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { /* not JSON */ }
        if (xhr.status === 200 || xhr.status === 201) {
          show(file.size, file.size);
          say(fill(xhr.status === 201 ? S.done : S.duplicate, { name: file.name }));
          form.dispatchEvent(new CustomEvent('wardcam:uploaded', { bubbles: true, detail: body }));
        } else {
          var refusals = S.refusals || {};
          var detail = body && (refusals[body.code] || body.detail);
          if (typeof detail !== 'string') detail = xhr.status + ' ' + xhr.statusText;
          say(fill(S.failed, { detail: detail }));
        }
        done();
      });
      xhr.addEventListener('error', function () { say(S.network); done(); });
      xhr.addEventListener('abort', function () { show(0, 1); say(S.cancelled); done(); });
      submit.disabled = true;
      cancel.hidden = false;
      show(0, file.size);
      say(fill(S.sending, { name: file.name }));
      xhr.send(file);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('form[data-upload]'), setup);
})();
