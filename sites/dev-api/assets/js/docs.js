/* Brightwater Tracking API docs - small helpers */
(function () {
  'use strict';
  var toggle = document.getElementById('show-secret');
  var secret = document.getElementById('client_secret');
  if (toggle && secret) {
    toggle.addEventListener('change', function () {
      secret.type = toggle.checked ? 'text' : 'password';
    });
  }
  var form = document.getElementById('token-form');
  if (form) {
    form.addEventListener('submit', function () {
      var btn = form.querySelector('button[type=submit]');
      if (btn) { btn.disabled = true; btn.textContent = 'Sending\u2026'; }
    });
  }
})();
