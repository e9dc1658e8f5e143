import * as api from "../api.js";
import { clear, h } from "../dom.js";

export function showLogin(main, signedIn) {
  const error = h("p", { class: "error", role: "alert" });
  const user = h("input", { name: "user", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", {},
    h("label", {}, "User", user),
    h("label", {}, "Password", password),
    h("button", { type: "submit" }, "Sign in"),
    error);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      await api.login(user.value, password.value);
      password.value = "";
      signedIn();
    } catch (e) {
      error.textContent = e.status === 429 ? e.message : e.status === 401 ? "Wrong user or password." : e.message;
    }
  });
  clear(main, h("section", { class: "login panel" }, h("h1", {}, "Sign in to sluice"), form));
  user.focus();
  return () => {};
}
