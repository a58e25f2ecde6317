// Emerald console: the browser-side helpers (issue #20, docs/console.md). Progressive: every
// page works without this script, which only adds to it. Strict-CSP friendly: no eval, no
// inline code or style, no request of its own but an upload form's POST to its own action;
// text comes from the page (console/text.rs) and what the user typed goes into the page as
// text (textContent), never as HTML.
(function () {
  'use strict';

  // ---- Browser storage (absent or refused in some private modes: then nothing is kept).
  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }
  function load(key) {
    try { var s = storage(); return s ? s.getItem(key) : null; } catch (e) { return null; }
  }
  function keep(key, value) {
    try { var s = storage(); if (s) s.setItem(key, value); } catch (e) { /* full or refused */ }
  }

  // ---- Local time (web-console.md §4.2): the server writes
  // <time datetime="…Z" title="… UTC">… UTC</time>; show it in the browser's zone.
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function zoneName(d) {
    try {
      var z = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (z) return z;
    } catch (e) { /* no Intl */ }
    return 'UTC' + offsetText(d);
  }
  // The browser's offset from UTC at `d`, as ±HH:MM.
  function offsetText(d) {
    var off = -d.getTimezoneOffset();
    var a = Math.abs(off);
    return (off < 0 ? '-' : '+') + pad(Math.floor(a / 60)) + ':' + pad(a % 60);
  }
  function localTimes(root) {
    root.querySelectorAll('time[datetime]:not([data-local])').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d.getTime())) return;
      t.textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
        pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + ' ' + zoneName(d);
      t.setAttribute('data-local', '');
    });
  }

  // ---- Saved filters (§4.2): the orders list's query strings under names, in localStorage.
  function filtersKey(box) {
    return 'emerald:saved-filters:' + box.getAttribute('data-saved-filters') + ':' + location.pathname;
  }
  function savedFilters(box) {
    try {
      var v = JSON.parse(load(filtersKey(box)) || '[]');
      return Array.isArray(v) ? v.filter(function (f) {
        return f && typeof f.name === 'string' && typeof f.query === 'string';
      }) : [];
    } catch (e) { return []; }
  }
  // The filters on screen: the page's query without the paging and one-off notices, nor empty fields.
  function currentQuery() {
    var out = new URLSearchParams();
    new URLSearchParams(location.search).forEach(function (v, k) {
      if (v !== '' && k !== 'offset' && k !== 'deleted') out.append(k, v);
    });
    return out.toString();
  }
  function renderFilters(box) {
    var list = box.querySelector('[data-list]');
    var empty = box.querySelector('[data-empty]');
    var remove = list.getAttribute('data-remove') || '×';
    var saved = savedFilters(box);
    list.textContent = '';
    saved.forEach(function (f, i) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = location.pathname + (f.query ? '?' + f.query : '');
      a.textContent = f.name;
      a.title = f.query;
      var rm = document.createElement('button');
      rm.type = 'button';
      rm.className = 'link';
      rm.setAttribute('data-remove-filter', String(i));
      rm.setAttribute('aria-label', remove + ': ' + f.name);
      rm.textContent = remove;
      li.appendChild(a);
      li.appendChild(document.createTextNode(' '));
      li.appendChild(rm);
      list.appendChild(li);
    });
    if (empty) empty.hidden = saved.length > 0;
    box.hidden = false;
  }
  function saveFilter(box) {
    var input = box.querySelector('input');
    var name = (input.value || '').trim().slice(0, 80);
    if (!name) { input.focus(); return; }
    var saved = savedFilters(box).filter(function (f) { return f.name !== name; });
    saved.push({ name: name, query: currentQuery() });
    keep(filtersKey(box), JSON.stringify(saved));
    input.value = '';
    renderFilters(box);
  }
  function removeFilter(box, i) {
    var saved = savedFilters(box);
    saved.splice(i, 1);
    keep(filtersKey(box), JSON.stringify(saved));
    renderFilters(box);
  }

  // ---- Privacy switch (§4.2): thumbnails blurred until hover or focus, kept per browser.
  var PRIVACY = 'emerald:privacy-blur';
  function applyPrivacy() {
    var on = load(PRIVACY) === '1';
    document.documentElement.classList.toggle('privacy', on);
    document.querySelectorAll('input[data-privacy]').forEach(function (cb) {
      cb.checked = on;
      var label = cb.closest('label');
      if (label) label.hidden = false;
    });
  }
  applyPrivacy(); // before the first paint of the thumbnails where possible

  // ---- Keyboard shortcuts (§4.3): A accept, D decline, N next case, Z zoom the evidence.
  // They press the page's own buttons and links, so the server checks them as any click.
  function typing(t) {
    return !!(t && t.closest && t.closest('input, textarea, select, [contenteditable]:not([contenteditable="false"])'));
  }
  document.addEventListener('keydown', function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.repeat || typing(e.target)) return;
    var key = (e.key || '').toLowerCase();
    var target = null;
    if (key === 'a') target = document.querySelector('form.decision button[value="SUCCESS"]');
    else if (key === 'd') target = document.querySelector('form.decision button[value="DECLINED"]');
    else if (key === 'n') target = document.querySelector('a[data-key="n"]');
    else if (key === 'z') {
      var cards = document.querySelectorAll('main .cards');
      if (!cards.length) return;
      e.preventDefault();
      cards.forEach(function (c) { c.classList.toggle('zoom'); });
      return;
    }
    if (!target) return;
    e.preventDefault();
    target.click();
  });

  document.addEventListener('click', function (e) {
    var t = e.target;
    if (!t || !t.closest) return;
    var box = t.closest('[data-saved-filters]');
    if (!box) return;
    if (t.closest('[data-save-filter]')) {
      saveFilter(box);
    } else if (t.closest('[data-remove-filter]')) {
      removeFilter(box, Number(t.closest('[data-remove-filter]').getAttribute('data-remove-filter')));
    }
  });
  document.addEventListener('keydown', function (e) {
    // Enter in the filter's name saves it (the field is in no form).
    if (e.key === 'Enter' && e.target && e.target.id === 'sf-name') {
      var box = e.target.closest('[data-saved-filters]');
      if (box) { e.preventDefault(); saveFilter(box); }
    }
  });
  document.addEventListener('change', function (e) {
    var box = e.target && e.target.matches && e.target.matches('input[type="file"]') && e.target.closest('.file-checks');
    if (box) { checkFiles(box, e.target); presetOrientation(e.target); }
    if (e.target && e.target.matches && e.target.matches('input[data-privacy]')) {
      keep(PRIVACY, e.target.checked ? '1' : '0');
      applyPrivacy();
    }
  });

  // ---- Users (§4.7): "Generate" fills the password with one made here (crypto.getRandomValues:
  // 20 characters of 64, 120 bits, at least one capital, small letter and digit) and shows it once.
  var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  function newPassword() {
    for (;;) {
      var bytes = new Uint8Array(20);
      window.crypto.getRandomValues(bytes);
      var p = '';
      for (var i = 0; i < bytes.length; i++) p += ALPHABET.charAt(bytes[i] & 63);
      if (/[A-Z]/.test(p) && /[a-z]/.test(p) && /[0-9]/.test(p)) return p;
    }
  }
  function generate(button) {
    var input = document.getElementById(button.getAttribute('data-generate-password'));
    var out = button.parentNode.querySelector('[data-generated]');
    if (!input) return;
    var p = newPassword();
    input.value = p;
    if (out) {
      out.textContent = (out.getAttribute('data-note') || '') + ' ';
      var code = document.createElement('code');
      code.textContent = p;
      out.appendChild(code);
    }
  }
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest && e.target.closest('[data-generate-password]');
    if (b) generate(b);
  });

  // ---- Uploads (§4.5): each chosen file's type and size, and their number, checked against
  // the server's limits (data- attributes) before anything is sent; a refused file blocks the
  // form's submit (setCustomValidity) and is named beside its input. The server checks again.
  function fileProblem(input, message) {
    var id = input.id + '-problem';
    var p = document.getElementById(id);
    if (!p && message) {
      p = document.createElement('p');
      p.id = id;
      p.className = 'error';
      p.setAttribute('role', 'alert');
      input.insertAdjacentElement('afterend', p);
      input.setAttribute('aria-describedby', id);
    }
    input.setCustomValidity(message);
    if (p) { p.textContent = message; p.hidden = !message; }
  }
  function checkFiles(box, changed) {
    var maxBytes = Number(box.getAttribute('data-max-file-bytes')) || Infinity;
    var maxFiles = Number(box.getAttribute('data-max-files')) || Infinity;
    var total = 0;
    box.querySelectorAll('input[type="file"]').forEach(function (input) {
      var problems = [];
      Array.prototype.forEach.call(input.files || [], function (f) {
        total += 1;
        if (!/^(image|video)\//.test(f.type) && !/\.zip$/i.test(f.name)) {
          problems.push(f.name + ': ' + box.getAttribute('data-wrong-type'));
        } else if (f.size > maxBytes) {
          problems.push(f.name + ': ' + box.getAttribute('data-too-big'));
        }
      });
      fileProblem(input, problems.join(' · '));
    });
    if (total > maxFiles && changed) fileProblem(changed, box.getAttribute('data-too-many'));
  }

  // ---- Orientation guessed from the aspect ratio (§4.5.2): when a file input gets its files,
  // its orientation choice (select[data-orientation-of]) is set from the first video's
  // videoWidth/videoHeight (its metadata read from a blob: URL, nothing sent; the browser turns
  // a rotated video's size as it shows it): landscape when wider than high, else portrait. A
  // ZIP (frames) stays portrait; photos leave the choice as it is; the user can change it after.
  function presetOrientation(input) {
    var select = document.querySelector('select[data-orientation-of="' + input.id + '"]');
    if (!select) return;
    var files = Array.prototype.slice.call(input.files || []);
    var video = files.filter(function (f) { return /^video\//.test(f.type); })[0];
    if (!video) {
      if (files.some(function (f) { return /\.zip$/i.test(f.name); })) select.value = 'portrait';
      return;
    }
    var v = document.createElement('video');
    var url = URL.createObjectURL(video);
    var done = function () {
      v.onloadedmetadata = v.onerror = null;
      URL.revokeObjectURL(url);
      v.removeAttribute('src');
    };
    v.preload = 'metadata';
    v.muted = true;
    v.onloadedmetadata = function () {
      if (v.videoWidth && v.videoHeight) {
        select.value = v.videoWidth > v.videoHeight ? 'landscape' : 'portrait';
        select.setAttribute('data-guessed', v.videoWidth + 'x' + v.videoHeight);
      }
      done();
    };
    v.onerror = done; // not playable here: the choice stays as it is
    v.src = url;
  }

  // ---- Upload progress (§4.5.4), on the create-order and add-files forms (form[data-upload]):
  // the form is sent as it is (FormData: its CSRF field, files and fields) with XMLHttpRequest,
  // whose upload progress fills a <progress>; Cancel aborts it. The request says HX-Request, as
  // htmx does: the server answers a success with HX-Redirect (the order's page), which is
  // followed here, and a refusal with the page it would show without the script, shown in
  // place of this one. Only a form that passed its checks (the file checks above) is submitted.
  function uploadBox(form) { return form.querySelector('[data-upload-progress]'); }
  function uploadState(form, sending, message) {
    var box = uploadBox(form);
    form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = sending; });
    box.querySelector('[data-upload-cancel]').hidden = !sending;
    box.querySelector('progress').hidden = !sending;
    box.querySelector('[data-upload-status]').textContent = message || '';
    box.hidden = !sending && !message;
  }
  function showPage(html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    // Scripts of a parsed document never run: htmx and this script stay as they are.
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    if (window.htmx && window.htmx.process) window.htmx.process(document.body);
    init();
    window.scrollTo(0, 0);
  }
  function upload(form) {
    var box = uploadBox(form);
    var bar = box.querySelector('progress');
    var status = box.querySelector('[data-upload-status]');
    var xhr = new XMLHttpRequest();
    form.uploading = xhr;
    xhr.open('POST', form.action);
    xhr.setRequestHeader('HX-Request', 'true');
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) { bar.removeAttribute('value'); return; }
      var pct = Math.floor((e.loaded / e.total) * 100);
      bar.value = pct;
      status.textContent = pct >= 100 ? box.getAttribute('data-storing') : box.getAttribute('data-sending') + ' ' + pct + ' %';
    };
    xhr.upload.onload = function () { bar.value = 100; status.textContent = box.getAttribute('data-storing'); };
    xhr.onload = function () {
      form.uploading = null;
      var to = xhr.getResponseHeader('HX-Redirect');
      if (to) { location.assign(to); return; }
      showPage(xhr.responseText);
    };
    xhr.onerror = function () { form.uploading = null; uploadState(form, false, box.getAttribute('data-failed')); };
    xhr.onabort = function () { form.uploading = null; uploadState(form, false, box.getAttribute('data-cancelled')); };
    bar.value = 0;
    uploadState(form, true, box.getAttribute('data-sending') + ' 0 %');
    xhr.send(new FormData(form));
  }
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (e.defaultPrevented || !form.matches || !form.matches('form[data-upload]') || !uploadBox(form)) return;
    if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser) return; // sent as a plain form
    e.preventDefault();
    if (!form.uploading) upload(form);
  });
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest && e.target.closest('[data-upload-cancel]');
    var form = b && b.closest('form');
    if (form && form.uploading) form.uploading.abort();
  });

  // ---- "Copy as curl" (§4.4): the button (hidden without the script, when the command stays
  // selectable in its read-only textarea) copies the textarea's text with the clipboard API;
  // where that is missing or refused (no secure context), the text is selected and copied with
  // execCommand, else left selected for the keyboard.
  function copied(button, ok) {
    var status = button.parentNode.querySelector('[data-copy-status]');
    if (status) status.textContent = button.getAttribute(ok ? 'data-copied' : 'data-copy-failed') || '';
  }
  function copyFrom(button) {
    var area = document.getElementById(button.getAttribute('data-copy'));
    if (!area) return;
    var fallback = function () {
      area.focus();
      area.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      copied(button, ok);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(area.value).then(function () { copied(button, true); }, fallback);
    } else {
      fallback();
    }
  }
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest && e.target.closest('button[data-copy]');
    if (b) copyFrom(b);
  });

  // ---- Session countdown (§4.1): every console request renews the sliding session, so the
  // header counts its lifetime down from the latest response.
  var deadline = 0;
  var ticking = 0;
  function tick() {
    var el = document.querySelector('[data-session-ttl]');
    if (!el || !deadline) return;
    var left = Math.round((deadline - Date.now()) / 1000);
    var text = left > 0
      ? el.getAttribute('data-before') + ' ' + Math.ceil(left / 60) + ' ' + el.getAttribute('data-unit')
      : el.getAttribute('data-ended');
    if (el.textContent !== text) el.textContent = text;
    el.classList.toggle('ended', left <= 0);
    el.hidden = false;
  }
  function renewed() {
    var el = document.querySelector('[data-session-ttl]');
    var ttl = el ? Number(el.getAttribute('data-session-ttl')) : 0;
    if (!(ttl > 0)) return;
    deadline = Date.now() + ttl * 1000;
    tick();
    if (!ticking) ticking = setInterval(tick, 1000);
  }
  document.addEventListener('htmx:afterRequest', function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status > 0 && xhr.status < 500 && !xhr.getResponseHeader('HX-Redirect')) renewed();
  });

  // ---- Every page load and every htmx swap (boosted links, the order page's re-polling).
  function init(e) {
    localTimes(document);
    // The statistics' periods in this browser's days (its offset now; without script: UTC).
    document.querySelectorAll('input[data-utc-offset]').forEach(function (i) { i.value = offsetText(new Date()); });
    document.querySelectorAll('[data-saved-filters]').forEach(renderFilters);
    applyPrivacy();
    document.querySelectorAll('[data-keys-help]').forEach(function (h) { h.hidden = false; });
    document.querySelectorAll('button[data-copy]').forEach(function (b) { b.parentNode.hidden = false; });
    // A page from htmx's history cache came without a request: the session was not renewed.
    if (e && e.type === 'htmx:historyRestore') tick(); else renewed();
    if (window.crypto && window.crypto.getRandomValues) {
      document.querySelectorAll('[data-generate-password]').forEach(function (b) { b.parentNode.hidden = false; });
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
  document.addEventListener('htmx:afterSettle', init);
  document.addEventListener('htmx:historyRestore', init);
})();
