// The list of the key's projects, and which one this tab had open (kept across a reload, in
// session storage like the key).
"use strict";

import { $, el } from "./dom.js";

const PROJECT = "labelwise.project";

export function rememberProject(project) {
  if (project) sessionStorage.setItem(PROJECT, String(project.id));
  else sessionStorage.removeItem(PROJECT);
}

// Lists `projects` as buttons that call `open`; answers the one this tab had open, if listed.
export function listProjects(projects, open) {
  const list = $("project-list");
  list.replaceChildren();
  for (const project of projects) {
    const button = el("button", "", `${project.name} (version ${project.version})`);
    button.type = "button";
    button.addEventListener("click", () => open(project));
    const item = el("li");
    item.append(button);
    list.append(item);
  }
  if (!projects.length) list.append(el("li", "", "This key's team has no projects."));
  const saved = Number(sessionStorage.getItem(PROJECT));
  return projects.find((p) => p.id === saved) || null;
}
