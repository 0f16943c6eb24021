// The login page: the API's login sets the session cookie; then back to the page asked
// for (`?next=`, same site only), or to the page of the role.
"use strict";

function nextPage(role) {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) return next;
  return role === "agent" ? "/desktop" : "/wall";
}

document.addEventListener("DOMContentLoaded", () => {
  translate();
  document.getElementById("lang").addEventListener("click", switchLanguage);
  const form = document.getElementById("login");
  const general = document.getElementById("general");
  document.getElementById("name").focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    general.textContent = "";
    general.className = "";
    const name = form.elements.name.value.trim();
    const password = form.elements.password.value;
    try {
      const response = await fetch("/api/v1/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name, password }),
        credentials: "same-origin",
      });
      if (!response.ok) {
        general.textContent = t("login.failed");
        general.className = "notice bad";
        form.elements.password.select();
        return;
      }
      const session = await response.json();
      location.href = nextPage(session.user.role);
    } catch (e) {
      general.textContent = t("error.network");
      general.className = "notice bad";
    }
  });
});
