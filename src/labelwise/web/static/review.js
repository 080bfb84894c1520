// The review desk: one decision per keystroke, for every task type.
//
// Everything an item carries (its data, the model's value, the rationale) is untrusted: it is
// only ever written with textContent, never parsed as HTML. The project's definition (loaded
// with the project list) says the task's type; an editor per type (desk/editors.js) draws the
// item and edits the value, and this module claims, saves, skips and undoes.
//
// Claims are short leases (LEASE_SECONDS) renewed while the page is open; the next item is
// claimed while the reviewer reads the current one; closing the tab releases both, and if that
// request is lost the leases lapse on their own.
"use strict";

import { api, errorText, keepKey, session } from "./desk/api.js";
import { batchFields, clearBatch, typedBatch } from "./desk/batch_filter.js";
import { $, isField } from "./desk/dom.js";
import { makeEditor } from "./desk/editors.js";
import { clearRegions, renderMeta } from "./desk/item_meta.js";
import { listProjects, rememberProject } from "./desk/projects.js";

const LEASE_SECONDS = 60;
const RENEW_EVERY_MS = 20_000;

// The item on screen, the next one (claimed ahead), and the last decision ({id, token}, for undo).
const state = { project: null, current: null, next: null, editor: null, last: null };
// `batch`: the batch id claims keep to (null: every batch of the project).
Object.assign(state, { waiting: 0, busy: false, prefetching: false, batch: null });

function say(text) {
  $("status").textContent = text;
}

function show(section) {
  for (const id of ["signin", "projects", "desk"]) $(id).hidden = id !== section;
  $("signout").hidden = section === "signin";
  $("switch").hidden = section !== "desk";
}

// --- Signing in and choosing a project --------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  session.key = key;
  const result = await api("GET", "/v1/projects");
  if (!result.ok) {
    session.key = null;
    $("signin-error").textContent = result.status === 401 ? "Unknown or revoked key." : errorText(result);
    return;
  }
  keepKey(key);
  $("key").value = "";
  $("signin-error").textContent = "";
  showProjects(result.data);
}

function signOut(message) {
  releaseHeld();
  keepKey(null);
  rememberProject(null);
  Object.assign(state, { project: null, current: null, next: null, editor: null, last: null });
  Object.assign(state, { batch: null });
  clearBatch();
  $("project-name").textContent = "";
  $("left").textContent = "";
  $("signin-error").textContent = message || "";
  show("signin");
  $("key").focus();
}

function showProjects(projects) {
  const again = listProjects(projects, openProject);
  show("projects");
  const first = $("project-list").querySelector("button");
  if (again) openProject(again);
  else if (first) first.focus();
}

async function switchProject() {
  releaseHeld();
  Object.assign(state, { current: null, next: null, editor: null, last: null, batch: null });
  clearBatch();
  rememberProject(null);
  const result = await api("GET", "/v1/projects");
  if (result.ok) showProjects(result.data);
}

async function openProject(project) {
  state.project = project;
  rememberProject(project);
  $("project-name").textContent = project.name;
  show("desk");
  state.current = await claim();
  render();
  prefetch();
}

// --- Claims -----------------------------------------------------------------------------------

async function claim() {
  const result = await api("POST", "/v1/review/claim", {
    project_id: state.project.id,
    lease_seconds: LEASE_SECONDS,
    ...batchFields(state.batch),
  });
  if (result.status === 204) {
    state.waiting = 0;
    return null;
  }
  if (!result.ok) {
    say(errorText(result));
    return null;
  }
  state.waiting = result.data.remaining;
  return result.data;
}

async function prefetch() {
  if (state.next || !state.current || state.prefetching) return;
  state.prefetching = true;
  const batch = state.batch;
  try {
    const claimed = await claim();
    if (!claimed) return;
    // An undo may have filled the slot while the claim was on its way, or the batch filter
    // changed: give the extra back.
    if (state.next || !state.current || state.batch !== batch) await release(claimed);
    else state.next = claimed;
  } finally {
    state.prefetching = false;
    updateLeft();
  }
}

function release(held, keepalive = false) {
  return api("POST", `/v1/review/${held.item.id}/release`, { claim_token: held.claim_token }, keepalive);
}

function releaseHeld() {
  for (const held of [state.current, state.next]) {
    if (held && session.key) release(held, true).catch(() => {});
  }
}

async function renewHeld() {
  for (const held of [state.current, state.next]) {
    if (!held) continue;
    const result = await api("POST", `/v1/review/${held.item.id}/renew`, {
      claim_token: held.claim_token,
      lease_seconds: LEASE_SECONDS,
    });
    if (result.status !== 409) continue;
    if (held === state.current) {
      say("This item's claim lapsed and it went back to the queue.");
      await advance();
    } else if (held === state.next) {
      state.next = null;
      prefetch();
    }
  }
}

// Keep claims to the batch typed in (or to none): what is held goes back, the queue restarts.
async function filterBatch(event) {
  event.preventDefault();
  const batch = typedBatch();
  if (batch === undefined) {
    say("A batch id is a whole number; leave it empty for every batch.");
    return;
  }
  if (batch === state.batch || state.busy || !state.project) return;
  state.busy = true;
  try {
    const held = [state.current, state.next].filter(Boolean);
    Object.assign(state, { current: null, next: null, last: null, batch });
    await Promise.all(held.map((item) => release(item)));
    $("batch").blur();
    say(batch === null ? "Every batch." : `Only batch ${batch}.`);
    state.current = await claim();
    render();
    prefetch();
  } finally {
    state.busy = false;
  }
}

// --- Showing an item --------------------------------------------------------------------------

function updateLeft() {
  const held = (state.current ? 1 : 0) + (state.next ? 1 : 0);
  $("left").textContent = state.project ? `${state.waiting + held} left` : "";
}

function render() {
  const held = state.current;
  $("item").hidden = !held;
  $("empty").hidden = Boolean(held);
  updateLeft();
  state.editor = null;
  if (!held) return;
  const task = state.project.task || {};
  $("item").dataset.itemId = String(held.item.id);
  $("item").dataset.task = task.type || "classification";
  clearRegions();
  state.editor = makeEditor(task, held, { say, decide });
  state.editor.render();
  renderMeta(held, state.editor.format);
}

// --- Deciding ---------------------------------------------------------------------------------

async function decide() {
  const held = state.current;
  if (!held || state.busy || !state.editor) return;
  const editor = state.editor;
  const chosen = editor.chosen();
  if (chosen.error) {
    say(chosen.error);
    return;
  }
  const predicted = held.prediction ? held.prediction.value : null;
  const keeps = predicted !== null && predicted !== undefined && editor.same(predicted, chosen.value);
  const body = keeps
    ? { claim_token: held.claim_token, decision: "accept" }
    : { claim_token: held.claim_token, decision: "correct", value: chosen.value };
  state.busy = true;
  try {
    const result = await api("POST", `/v1/review/${held.item.id}`, body);
    if (!result.ok) {
      say(errorText(result));
      if (result.status === 409) await advance();
      return;
    }
    state.last = { id: held.item.id, token: held.claim_token };
    say(
      result.data.final
        ? `Saved: ${editor.format(result.data.label.value)}.`
        : "Saved: the item waits for another reviewer's decision.",
    );
    await advance();
  } finally {
    state.busy = false;
  }
}

async function advance() {
  state.current = state.next;
  state.next = null;
  if (!state.current) state.current = await claim();
  render();
  prefetch();
}

async function skip() {
  const held = state.current;
  if (!held || state.busy) return;
  state.busy = true;
  try {
    await release(held);
    say("Skipped: the item went back to the queue.");
    await advance();
  } finally {
    state.busy = false;
  }
}

async function undo() {
  if (state.busy) return;
  if (!state.last) {
    say("Nothing to undo.");
    return;
  }
  state.busy = true;
  try {
    const result = await api("POST", `/v1/review/${state.last.id}/undo`, { claim_token: state.last.token });
    state.last = null;
    if (!result.ok) {
      say(result.status === 409 ? "Too late to undo: that claim has lapsed." : errorText(result));
      return;
    }
    // The undone item comes back first; the one on screen waits as the next.
    if (state.next) await release(state.next);
    state.next = state.current;
    state.current = result.data;
    render();
    say("Undone: decide again.");
  } finally {
    state.busy = false;
  }
}

function onKey(event) {
  if ($("desk").hidden) return;
  const typing = isField(event.target);
  if (state.editor && state.editor.onKey(event, typing)) {
    event.preventDefault();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Enter") decide();
  else if (event.key === "u") undo();
  else if (event.key === "s") skip();
  else return;
  event.preventDefault();
}

// --- Start ------------------------------------------------------------------------------------

async function start() {
  session.onRefused = signOut;
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut());
  $("switch").addEventListener("click", switchProject);
  $("batch-form").addEventListener("submit", filterBatch);
  document.addEventListener("keydown", onKey);
  window.addEventListener("pagehide", releaseHeld);
  setInterval(renewHeld, RENEW_EVERY_MS);
  if (!session.key) {
    show("signin");
    $("key").focus();
    return;
  }
  const result = await api("GET", "/v1/projects");
  if (result.ok) showProjects(result.data);
}

// A module runs after the document is parsed; it may run before or after DOMContentLoaded.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
