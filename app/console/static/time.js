/* wardcam console: wall-clock times in a camera's IANA time zone (not the browser's).
   wardcam.time.localToIso('2026-03-12T14:05', 'Asia/Ho_Chi_Minh') -> '2026-03-12T14:05:00+07:00'
   (the value of an <input type="datetime-local"> as the API wants it: ISO 8601 with offset). */
(function () {
  'use strict';
  var W = window.wardcam = window.wardcam || {};
  var LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$/;
  function pad(n) { return (n < 10 ? '0' : '') + n; }

  // Minutes east of UTC of `timeZone` at the instant `ms`.
  function offsetAt(ms, timeZone) {
    var parts = {};
    new Intl.DateTimeFormat('en-US', {
      timeZone: timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric'
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = Number(p.value); });
    var wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
    return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
  }

  function formatOffset(minutes) {
    var a = Math.abs(minutes);
    return (minutes < 0 ? '-' : '+') + pad(Math.floor(a / 60)) + ':' + pad(a % 60);
  }

  function localToIso(value, timeZone) {
    var m = LOCAL.exec(String(value).trim());
    if (!m) throw new RangeError('not a local date and time: ' + value);
    var wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    var offset = offsetAt(wall, timeZone);
    offset = offsetAt(wall - offset * 60000, timeZone);  // again, in case a change lies between
    return m[1] + '-' + m[2] + '-' + m[3] + 'T' + m[4] + ':' + m[5] + ':' + (m[6] || '00') +
      formatOffset(offset);
  }

  W.time = { localToIso: localToIso, offsetAt: offsetAt, formatOffset: formatOffset };
})();
