/* Brightwater Freight - site scripts */
(function () {
  'use strict';

  // Mobile navigation
  var toggle = document.querySelector('.nav-toggle');
  var nav = document.getElementById('site-nav');
  if (toggle && nav) {
    toggle.addEventListener('click', function () {
      var open = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', open ? 'false' : 'true');
      nav.classList.toggle('is-open', !open);
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && nav.classList.contains('is-open')) {
        nav.classList.remove('is-open');
        toggle.setAttribute('aria-expanded', 'false');
        toggle.focus();
      }
    });
  }

  // Basic form validation
  var emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function problem(field) {
    var value = field.type === 'checkbox' ? (field.checked ? 'on' : '') : field.value.trim();
    if (field.required && !value) {
      return field.type === 'email' ? 'Please enter your email address.' : 'This field is required.';
    }
    if (field.type === 'email' && value && !emailPattern.test(value)) {
      return 'Please enter a valid email address.';
    }
    if (field.minLength > 0 && value && value.length < field.minLength) {
      return 'Please enter at least ' + field.minLength + ' characters.';
    }
    return '';
  }

  function report(field, message) {
    var holder = field.closest('.field') || field.closest('.newsletter-form') || field.parentNode;
    var note = holder.querySelector('.field-error');
    field.classList.toggle('is-invalid', !!message);
    field.setAttribute('aria-invalid', message ? 'true' : 'false');
    if (message) {
      if (!note) {
        note = document.createElement('p');
        note.className = 'field-error';
        holder.appendChild(note);
      }
      note.textContent = message;
    } else if (note) {
      note.parentNode.removeChild(note);
    }
  }

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') &&
        el.type !== 'hidden' && el.type !== 'submit';
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('form[data-validate]'), function (form) {
    form.setAttribute('novalidate', 'novalidate');

    form.addEventListener('submit', function (e) {
      var firstBad = null;
      fieldsOf(form).forEach(function (field) {
        var message = problem(field);
        report(field, message);
        if (message && !firstBad) { firstBad = field; }
      });
      if (firstBad) {
        e.preventDefault();
        firstBad.focus();
        return;
      }
      var button = form.querySelector('button[type="submit"]');
      if (button && button.getAttribute('data-busy')) {
        button.setAttribute('data-label', button.textContent);
        button.disabled = true;
        button.textContent = button.getAttribute('data-busy');
      }
    });

    form.addEventListener('input', function (e) {
      if (e.target.classList && e.target.classList.contains('is-invalid')) {
        report(e.target, problem(e.target));
      }
    });
  });

  // Re-enable buttons when the page is restored from the back/forward cache
  window.addEventListener('pageshow', function (e) {
    if (!e.persisted) { return; }
    Array.prototype.forEach.call(document.querySelectorAll('button[data-label]'), function (button) {
      button.disabled = false;
      button.textContent = button.getAttribute('data-label');
    });
  });
})();
