/**
 * The console's one HTML page. Everything it shows is drawn by the front-end
 * (control/web, built into dist/console-web); the page itself holds no data, so
 * it is served without a session and the script shows the login form when the
 * session check fails. No inline script or style: the CSP forbids both.
 */
export function consolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tandem console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/main.js"></script>
</head>
<body>
<header>
<strong>Tandem</strong>
<nav id="nav" hidden>
<a href="#/calls">Calls</a>
<a href="#/extensions">Extensions</a>
<a href="#/node">Node</a>
<a href="#/history">History</a>
<button id="logout" type="button">Log out</button>
</nav>
</header>
<main id="main"><p>Loading…</p></main>
</body>
</html>
`;
}
