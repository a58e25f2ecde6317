// Emerald console, the statistics page only (served from {base}/assets/statistics.js; no
// inline script, no eval, no request anywhere). The charts are drawn by the server and their
// type is chosen by a GET form; this script only
//  (a) keeps each chart's type in localStorage and asks for it again when the page is opened
//      without a choice in its address (the menu's link), and sends the form on a change;
//  (b) saves a chart as a PNG (its button's data-chart names the SVG #chart-<name>; the
//      score histograms have one each): the SVG with its computed colours copied onto it,
//      drawn on a canvas, downloaded from a blob: URL, all in the browser.
(function () {
  'use strict';
  var KEY = 'emerald.statistics.charts';
  // Presentation properties copied from the stylesheet onto the exported copy.
  var PROPS = ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'fill-opacity', 'stroke-opacity',
    'opacity', 'font-size', 'font-family', 'font-weight', 'text-anchor', 'display', 'visibility'];

  function stored() {
    try {
      var v = JSON.parse(window.localStorage.getItem(KEY) || '{}');
      return v && typeof v === 'object' ? v : {};
    } catch (e) {
      return {};
    }
  }

  function store(v) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(v));
    } catch (e) { /* storage off: the choice lasts for the page only */ }
  }

  function selects() {
    return Array.prototype.slice.call(document.querySelectorAll('form.chart-kind select'));
  }

  function remember() {
    var v = stored();
    selects().forEach(function (s) { v[s.name] = s.value; });
    store(v);
  }

  // The browser's offset from UTC now, as ±HH:MM (console.js writes the same into the form).
  function browserOffset() {
    var off = -new Date().getTimezoneOffset();
    var a = Math.abs(off);
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return (off < 0 ? '-' : '+') + two(Math.floor(a / 60)) + ':' + two(a % 60);
  }

  function init() {
    var list = selects();
    if (!list.length) return;
    var params = new URLSearchParams(window.location.search);
    var chosen = list.some(function (s) { return params.has(s.name); });
    var changed = false;
    // Opened without an offset (the menu's link): again in this browser's days.
    var offset = browserOffset();
    if (document.querySelector('input[data-utc-offset]') && !params.has('utc_offset') && offset !== '+00:00') {
      params.set('utc_offset', offset);
      changed = true;
    }
    if (chosen) {
      remember();
    } else {
      var v = stored();
      list.forEach(function (s) {
        // Only a kind this chart offers (the histograms have no donut).
        var offered = Array.prototype.some.call(s.options, function (o) { return o.value === v[s.name]; });
        if (offered && v[s.name] !== s.value) {
          params.set(s.name, v[s.name]);
          changed = true;
        }
      });
    }
    if (changed) {
      list.forEach(function (s) { if (!params.has(s.name)) params.set(s.name, s.value); });
      window.location.replace(window.location.pathname + '?' + params.toString());
      return;
    }
    document.querySelectorAll('button.png[data-chart][hidden]').forEach(function (b) {
      b.hidden = false;
    });
  }

  function exportPng(id) {
    var svg = document.getElementById('chart-' + id);
    if (!svg) return;
    var box = svg.viewBox.baseVal;
    var w = box && box.width ? box.width : svg.clientWidth;
    var h = box && box.height ? box.height : svg.clientHeight;
    var copy = svg.cloneNode(true);
    var from = [svg].concat(Array.prototype.slice.call(svg.querySelectorAll('*')));
    var to = [copy].concat(Array.prototype.slice.call(copy.querySelectorAll('*')));
    from.forEach(function (el, i) {
      var cs = window.getComputedStyle(el);
      PROPS.forEach(function (p) {
        var value = cs.getPropertyValue(p);
        if (value) to[i].setAttribute(p, value);
      });
    });
    copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    copy.setAttribute('width', String(w));
    copy.setAttribute('height', String(h));
    var xml = new XMLSerializer().serializeToString(copy);
    var url = URL.createObjectURL(new Blob([xml], { type: 'image/svg+xml' }));
    var img = new Image();
    img.onload = function () {
      var scale = 2;
      var canvas = document.createElement('canvas');
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      var g = canvas.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob(function (png) {
        if (!png) return;
        var a = document.createElement('a');
        a.href = URL.createObjectURL(png);
        a.download = 'statistics-' + id + '.png';
        a.setAttribute('hx-boost', 'false');
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      }, 'image/png');
    };
    img.onerror = function () { URL.revokeObjectURL(url); };
    img.src = url;
  }

  document.addEventListener('change', function (e) {
    var s = e.target;
    if (s && s.matches && s.matches('form.chart-kind select')) {
      remember();
      if (s.form.requestSubmit) s.form.requestSubmit(); else s.form.submit();
    }
  });
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest ? e.target.closest('button.png[data-chart]') : null;
    if (b) {
      e.preventDefault();
      exportPng(b.getAttribute('data-chart'));
    }
  });
  // Whole page loads, and htmx's swaps of this page (its forms are boosted; history restores).
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
  document.addEventListener('htmx:afterSettle', init);
  document.addEventListener('htmx:historyRestore', init);
}());
