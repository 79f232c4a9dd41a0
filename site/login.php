<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer Portal Login | Brightwater Freight</title>
<meta name="description" content="Sign in to the Brightwater Freight customer portal to book pickups, track shipments and view invoices.">
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
        <li><a href="/contact.php">Contact</a></li>
        <li class="nav-cta"><a href="/login.php" aria-current="page">Customer Login</a></li>
      </ul>
    </nav>
  </div>
</header>

<main id="main">
<section class="auth-wrap">
  <div class="container">
    <div class="auth-card">
      <h1>Customer Portal</h1>
      <p class="lead">Sign in to book pickups, track shipments and view invoices.</p>
      {{message}}
      <form method="post" action="/login.php" data-validate>
        <div class="field">
          <label for="username">Username</label>
          <input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="64" required>
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" maxlength="128" required>
        </div>
        <div class="form-row">
          <label class="checkbox" for="remember"><input type="checkbox" id="remember" name="remember" value="1"> Remember me</label>
          <a href="/password-reset.php">Forgot password?</a>
        </div>
        <button type="submit" class="btn btn-block" data-busy="Signing in&hellip;">Sign in</button>
      </form>
      <div class="auth-foot">
        <p>Need an account? Ask your Brightwater customer service representative or <a href="/contact.php">contact us</a>.</p>
        <p>For your security, sessions end after 30 minutes of inactivity.</p>
      </div>
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
