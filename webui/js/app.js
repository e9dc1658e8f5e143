// The sluice web UI: a hash router over a few views, all talking to the
// REST API with the session cookie and CSRF token. No framework, no build.
import * as api from "./api.js";
import { clear, h, notice } from "./dom.js";
import { showLogin } from "./views/login.js";
import { showOverview } from "./views/overview.js";
import { showRules } from "./views/rules.js";
import { showFlows } from "./views/flows.js";
import { showConnections } from "./views/connections.js";
import { showEndpoints } from "./views/endpoints.js";
import { showMap } from "./views/map.js";

const views = {
  overview: { title: "Overview", show: showOverview },
  rules: { title: "Rules", show: showRules },
  flows: { title: "Live flows", show: showFlows },
  connections: { title: "Connections", show: showConnections },
  endpoints: { title: "Endpoints", show: showEndpoints },
  map: { title: "Map", show: showMap },
};

const main = document.getElementById("view");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const signout = document.getElementById("signout");
let current = null;  // the shown view's stop() (timers, streams)
let rendering = 0;   // counts render() calls: a view still loading when a newer one starts gives way
let signedIn = false;

function stopCurrent() {
  if (current) current();
  current = null;
}

function setSignedIn(session) {
  signedIn = !!session;
  nav.hidden = !signedIn;
  signout.hidden = !signedIn || !session.may_change;
  who.textContent = signedIn ? (session.user ? `signed in as ${session.user}` : session.who) : "";
}

// "#/rules?rule=web" -> ["rules", URLSearchParams("rule=web")]
function route() {
  const [path, q] = location.hash.replace(/^#\/?/, "").split("?");
  return [path || "overview", new URLSearchParams(q || "")];
}

async function render() {
  const mine = ++rendering;
  stopCurrent();
  if (!signedIn) {
    document.title = "Sign in - sluice";
    current = showLogin(main, async () => {
      setSignedIn(await api.session());
      if (route()[0] === "login") location.hash = "#/overview";
      else render();
    });
    return;
  }
  const [name, params] = route();
  const view = views[name] || views.overview;
  for (const a of nav.querySelectorAll("a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${view.title} - sluice`;
  // Each view draws into a box of its own: one still loading when the user
  // moves on draws into a box no longer shown, never over the next view.
  const box = h("div");
  clear(main, box);
  let stop = null;
  try {
    stop = await view.show(box, params);
  } catch (e) {
    clear(box, h("p", { class: "error" }, `Could not load ${view.title}: ${e.message}`));
  }
  if (mine !== rendering) {
    // Superseded while loading: what it started (streams, timers) stops now.
    if (stop) stop();
    return;
  }
  current = stop;
  main.focus({ preventScroll: true });
}

api.whenSignedOut(() => {
  if (!signedIn) return;
  setSignedIn(null);
  notice("Your session ended; please sign in again.");
  render();
});

signout.addEventListener("click", async () => {
  try { await api.logout(); } catch { /* signed out either way */ }
  setSignedIn(null);
  location.hash = "#/login";
  render();
});

window.addEventListener("hashchange", render);

(async () => {
  try { setSignedIn(await api.session()); } catch { setSignedIn(null); }
  render();
})();
