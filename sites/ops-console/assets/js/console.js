/* Fleet Operations Console - sign-in helpers */
(function () {
  'use strict';

  var form = document.getElementById('signin-form');
  if (form) {
    var user = document.getElementById('username');
    var pass = document.getElementById('password');
    if (user && !user.value) { user.focus(); } else if (pass) { pass.focus(); }
    form.addEventListener('submit', function () {
      var btn = form.querySelector('button[type=submit]');
      if (btn) {
        btn.disabled = true;
        btn.textContent = 'Signing in\u2026';
      }
    });
  }

  var ver = document.getElementById('app-version');
  if (ver && window.fetch) {
    fetch('/status.json', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.version) { ver.textContent = 'v' + s.version + (s.build ? ' (' + s.build + ')' : ''); }
      })
      .catch(function () {});
  }
})();
