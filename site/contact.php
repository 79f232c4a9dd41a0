<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Contact Us | Brightwater Freight</title>
<meta name="description" content="Contact Brightwater Freight for quotes, shipment questions, billing and general enquiries.">
<link rel="icon" href="/favicon.ico" type="image/x-icon">
<link rel="stylesheet" href="/assets/css/main.css">
<script src="/assets/js/main.js" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header">
  <div class="topbar">
    <div class="container">
      <span>24/7 Dispatch: <a href="tel:+15035550142">(503) 555-0142</a></span>
      <a class="portal-link" href="/login.php">Track a shipment &rsaquo;</a>
    </div>
  </div>
  <div class="container header-inner">
    <a class="brand" href="/"><img src="/images/logo.svg" alt="Brightwater Freight" width="220" height="48"></a>
    <button class="nav-toggle" type="button" aria-expanded="false" aria-controls="site-nav">
      <span class="visually-hidden">Menu</span>
      <span class="nav-toggle-bar"></span>
      <span class="nav-toggle-bar"></span>
      <span class="nav-toggle-bar"></span>
    </button>
    <nav id="site-nav" class="site-nav" aria-label="Main">
      <ul>
        <li><a href="/">Home</a></li>
        <li><a href="/services.html">Services</a></li>
        <li><a href="/about.html">About Us</a></li>
        <li><a href="/news.html">News</a></li>
        <li><a href="/careers.html">Careers</a></li>
        <li><a href="/contact.php" aria-current="page">Contact</a></li>
        <li class="nav-cta"><a href="/login.php">Customer Login</a></li>
      </ul>
    </nav>
  </div>
</header>

<main id="main">
<section class="page-head">
  <div class="container">
    <p class="breadcrumb"><a href="/">Home</a> / Contact</p>
    <h1>Contact us</h1>
    <p>Questions about a shipment, a quote or an invoice? We usually reply within one business day.</p>
  </div>
</section>

<section class="section">
  <div class="container grid grid-2">
    <div class="form-card">
      <h2>Send us a message</h2>
      {{message}}
      <form method="post" action="/contact.php" data-validate>
        <div class="field">
          <label for="name">Your name</label>
          <input type="text" id="name" name="name" autocomplete="name" maxlength="100" required>
        </div>
        <div class="field">
          <label for="email">Email address</label>
          <input type="email" id="email" name="email" autocomplete="email" maxlength="150" required>
        </div>
        <div class="field">
          <label for="subject">Subject</label>
          <select id="subject" name="subject" required>
            <option value="">Please choose&hellip;</option>
            <option value="quote">Request a quote</option>
            <option value="shipment">Shipment or delivery question</option>
            <option value="billing">Billing</option>
            <option value="portal">Customer portal access</option>
            <option value="careers">Careers</option>
            <option value="other">Something else</option>
          </select>
        </div>
        <div class="field">
          <label for="message">Message</label>
          <textarea id="message" name="message" rows="7" maxlength="4000" minlength="10" required></textarea>
          <p class="hint">If your message is about a shipment, please include the PRO or BOL number.</p>
        </div>
        <button type="submit" class="btn" data-busy="Sending&hellip;">Send message</button>
      </form>
    </div>
    <div>
      <h2>Call us</h2>
      <p><strong>Dispatch (24/7):</strong> <a href="tel:+15035550142">(503) 555-0142</a><br>
      <strong>Customer service:</strong> <a href="tel:+15035550157">(503) 555-0157</a><br>
      <strong>Billing:</strong> <a href="tel:+15035550131">(503) 555-0131</a></p>
      <p>Customer service is available Monday to Friday, 7:00 am to 6:00 pm Pacific.</p>
      <h2>Visit us</h2>
      <address>
        <strong>Brightwater Freight, Inc.</strong><br>
        2150 N Dockside Way<br>
        Portland, OR 97217
      </address>
      <p>Visitor parking is on the north side of the building. Drivers, please use the truck entrance on N Channel Ave.</p>
      <p>Existing customers can also track shipments in the <a href="/login.php">customer portal</a>.</p>
    </div>
  </div>
</section>
</main>

<footer class="site-footer">
  <div class="container footer-grid">
    <div>
      <h2>Brightwater Freight</h2>
      <address>
        2150 N Dockside Way<br>
        Portland, OR 97217
      </address>
      <p>Main office: <a href="tel:+15035550142">(503) 555-0142</a><br>
      Fax: (503) 555-0149<br>
      Office hours: Mon&ndash;Fri, 7:00 am &ndash; 6:00 pm PT</p>
    </div>
    <div>
      <h2>Company</h2>
      <ul class="footer-links">
        <li><a href="/about.html">About Us</a></li>
        <li><a href="/news.html">News</a></li>
        <li><a href="/careers.html">Careers</a></li>
        <li><a href="/contact.php">Contact</a></li>
      </ul>
    </div>
    <div>
      <h2>Customers</h2>
      <ul class="footer-links">
        <li><a href="/services.html">Services</a></li>
        <li><a href="/login.php">Customer Portal</a></li>
        <li><a href="/password-reset.php">Reset Portal Password</a></li>
        <li><a href="/contact.php">Request a Quote</a></li>
      </ul>
    </div>
    <div>
      <h2>Shipping Update</h2>
      <p>Our monthly email with lane changes, fuel surcharge notices and holiday schedules.</p>
      <form class="newsletter-form" method="post" action="/newsletter.php" data-validate>
        <label for="nl-email">Email address</label>
        <div class="newsletter-row">
          <input type="email" id="nl-email" name="email" autocomplete="email" placeholder="you@company.com" required>
          <button type="submit" class="btn btn-accent">Subscribe</button>
        </div>
      </form>
    </div>
  </div>
  <div class="footer-bottom">
    <div class="container">
      <span>&copy; 2026 Brightwater Freight, Inc. All rights reserved.</span>
      <span><a href="/privacy.html">Privacy Policy</a></span>
    </div>
  </div>
</footer>
</body>
</html>
