// The review desk: one decision per keystroke.
//
// Everything an item carries (its data, the model's label, the rationale) is untrusted: it is
// only ever written with textContent, never parsed as HTML. The key lives in sessionStorage
// (this tab only, never a URL) and is sent as an Authorization header to the JSON API.
//
// Claims are short leases (LEASE_SECONDS) renewed while the page is open; the next item is
// claimed while the reviewer reads the current one; closing the tab releases both, and if that
// request is lost the leases lapse on their own.
"use strict";

(() => {
  const KEY = "labelwise.key";
  const PROJECT = "labelwise.project";
  const LEASE_SECONDS = 60;
  const RENEW_EVERY_MS = 20_000;
  const REASONS = {
    low_confidence: "low confidence",
    no_confidence: "no confidence score",
    uncalibrated: "not calibrated yet",
    audit: "audit (spot check)",
    invalid_output: "invalid model output",
    truncated: "truncated model output",
    refusal: "model refused",
    llm_error: "model error",
    delivery_exhausted: "could not be labeled",
    disagreement: "reviewers disagree: adjudicate",
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    key: sessionStorage.getItem(KEY),
    project: null,
    labels: [],
    multi: false,
    current: null,
    next: null,
    waiting: 0,
    selection: new Set(),
    last: null, // {id, token} of the last decision, for undo
    busy: false,
    prefetching: false,
  };

  function headers(json) {
    const h = { Authorization: `Bearer ${state.key}` };
    if (json) h["Content-Type"] = "application/json";
    return h;
  }

  async function api(method, path, body, keepalive = false) {
    const response = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      keepalive,
    });
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    if (response.status === 401) signOut("Your key was refused: sign in again.");
    return { status: response.status, ok: response.ok, data };
  }

  function errorText(result) {
    const error = result.data && result.data.error;
    return error ? error.message : `The server answered ${result.status}.`;
  }

  function say(text) {
    $("status").textContent = text;
  }

  function show(section) {
    for (const id of ["signin", "projects", "desk"]) $(id).hidden = id !== section;
    const signedIn = section !== "signin";
    $("signout").hidden = !signedIn;
    $("switch").hidden = section !== "desk";
  }

  // --- Signing in and choosing a project ------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const key = $("key").value.trim();
    if (!key) return;
    state.key = key;
    const result = await api("GET", "/v1/projects");
    if (!result.ok) {
      state.key = null;
      $("signin-error").textContent =
        result.status === 401 ? "Unknown or revoked key." : errorText(result);
      return;
    }
    sessionStorage.setItem(KEY, key);
    $("key").value = "";
    $("signin-error").textContent = "";
    showProjects(result.data);
  }

  function signOut(message) {
    releaseHeld();
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(PROJECT);
    Object.assign(state, { key: null, project: null, current: null, next: null, last: null });
    $("project-name").textContent = "";
    $("left").textContent = "";
    $("signin-error").textContent = message || "";
    show("signin");
    $("key").focus();
  }

  function showProjects(projects) {
    const list = $("project-list");
    list.replaceChildren();
    for (const project of projects) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${project.name} (version ${project.version})`;
      button.addEventListener("click", () => openProject(project));
      item.append(button);
      list.append(item);
    }
    if (!projects.length) {
      const item = document.createElement("li");
      item.textContent = "This key's team has no projects.";
      list.append(item);
    }
    show("projects");
    const saved = Number(sessionStorage.getItem(PROJECT));
    const again = projects.find((p) => p.id === saved);
    if (again) openProject(again);
    else if (list.querySelector("button")) list.querySelector("button").focus();
  }

  async function switchProject() {
    releaseHeld();
    Object.assign(state, { current: null, next: null, last: null });
    sessionStorage.removeItem(PROJECT);
    const result = await api("GET", "/v1/projects");
    if (result.ok) showProjects(result.data);
  }

  async function openProject(project) {
    state.project = project;
    state.labels = project.task.labels.map((label) => label.name);
    state.multi = Boolean(project.task.multi_label);
    sessionStorage.setItem(PROJECT, String(project.id));
    $("project-name").textContent = project.name;
    show("desk");
    state.current = await claim();
    render();
    prefetch();
  }

  // --- Claims -------------------------------------------------------------------------------

  async function claim() {
    const result = await api("POST", "/v1/review/claim", {
      project_id: state.project.id,
      lease_seconds: LEASE_SECONDS,
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
    try {
      const claimed = await claim();
      if (!claimed) return;
      // An undo may have filled the slot while the claim was on its way: give the extra back.
      if (state.next || !state.current) await release(claimed);
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
      if (held && state.key) release(held, true).catch(() => {});
    }
  }

  async function renewHeld() {
    for (const held of [state.current, state.next]) {
      if (!held) continue;
      const result = await api("POST", `/v1/review/${held.item.id}/renew`, {
        claim_token: held.claim_token,
        lease_seconds: LEASE_SECONDS,
      });
      if (result.status === 409) {
        if (held === state.current) {
          say("This item's claim lapsed and it went back to the queue.");
          await advance();
        } else if (held === state.next) {
          state.next = null;
          prefetch();
        }
      }
    }
  }

  // --- Showing an item ----------------------------------------------------------------------

  function asList(value) {
    if (value === null || value === undefined) return [];
    return Array.isArray(value) ? value.map(String) : [String(value)];
  }

  function formatValue(value) {
    const list = asList(value);
    return list.length ? list.join(", ") : "(none)";
  }

  function updateLeft() {
    const held = (state.current ? 1 : 0) + (state.next ? 1 : 0);
    $("left").textContent = state.project ? `${state.waiting + held} left` : "";
  }

  function render() {
    const held = state.current;
    $("item").hidden = !held;
    $("empty").hidden = Boolean(held);
    updateLeft();
    if (!held) return;
    $("item").dataset.itemId = String(held.item.id);
    const data = held.item.data || {};
    const hasText = typeof data.text === "string";
    $("text").textContent = hasText ? data.text : JSON.stringify(data, null, 2);
    $("text").scrollTop = 0;
    const fields = $("fields");
    fields.replaceChildren();
    if (hasText) {
      for (const [name, value] of Object.entries(data)) {
        if (name === "text") continue;
        const term = document.createElement("dt");
        term.textContent = name;
        const detail = document.createElement("dd");
        detail.textContent = typeof value === "string" ? value : JSON.stringify(value);
        fields.append(term, detail);
      }
    }
    const prediction = held.prediction;
    const reason = held.item.reason;
    $("reason").textContent = REASONS[reason] || reason || "";
    $("reason").classList.toggle("audit", reason === "audit");
    $("reason").classList.toggle("disagreement", reason === "disagreement");
    const hasLabel = prediction && prediction.value !== null && prediction.value !== undefined;
    $("model-label").textContent = hasLabel
      ? `Model: ${formatValue(prediction.value)}`
      : "The model gave no label.";
    $("confidence").textContent =
      prediction && typeof prediction.confidence === "number"
        ? `confidence ${(prediction.confidence * 100).toFixed(1)}% (${prediction.method})`
        : "";
    const votes = held.votes || [];
    $("votes").hidden = votes.length === 0;
    $("votes").textContent = votes.length
      ? "Reviewers said: " +
        votes.map((v) => `${v.reviewer}: ${v.unlabelable ? "unlabelable" : formatValue(v.value)}`).join("; ")
      : "";
    const rationale = prediction && prediction.rationale;
    $("rationale-box").hidden = !rationale;
    $("rationale").textContent = rationale || "";
    const known = new Set(state.labels);
    state.selection = new Set(hasLabel ? asList(prediction.value).filter((l) => known.has(l)) : []);
    renderLabels();
  }

  function renderLabels() {
    const list = $("labels");
    list.replaceChildren();
    const predicted = new Set(state.current && state.current.prediction ? asList(state.current.prediction.value) : []);
    state.labels.forEach((name, index) => {
      const item = document.createElement("li");
      item.setAttribute("role", state.multi ? "checkbox" : "radio");
      item.setAttribute("aria-checked", String(state.selection.has(name)));
      item.classList.toggle("selected", state.selection.has(name));
      item.classList.toggle("model", predicted.has(name));
      if (index < 9) {
        const key = document.createElement("span");
        key.className = "kbd";
        key.textContent = String(index + 1);
        item.append(key);
      }
      item.append(document.createTextNode(name));
      item.addEventListener("click", () => pick(index));
      list.append(item);
    });
  }

  // --- Deciding -----------------------------------------------------------------------------

  function pick(index) {
    const name = state.labels[index];
    if (name === undefined || !state.current) return;
    if (state.multi) {
      if (state.selection.has(name)) state.selection.delete(name);
      else state.selection.add(name);
    } else {
      state.selection = new Set([name]);
    }
    renderLabels();
  }

  function sameValue(a, b) {
    const left = asList(a).sort();
    const right = asList(b).sort();
    return left.length === right.length && left.every((value, i) => value === right[i]);
  }

  async function decide() {
    const held = state.current;
    if (!held || state.busy) return;
    const chosen = state.multi ? [...state.selection].sort() : [...state.selection][0];
    if (!state.multi && chosen === undefined) {
      say("Pick a label first.");
      return;
    }
    const prediction = held.prediction;
    const keeps = prediction && prediction.value !== null && sameValue(prediction.value, chosen);
    const body = keeps
      ? { claim_token: held.claim_token, decision: "accept" }
      : { claim_token: held.claim_token, decision: "correct", value: chosen };
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
          ? `Saved: ${formatValue(result.data.label.value)}.`
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
      const result = await api("POST", `/v1/review/${state.last.id}/undo`, {
        claim_token: state.last.token,
      });
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
    if ($("desk").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement) return;
    if (/^[1-9]$/.test(event.key)) {
      pick(Number(event.key) - 1);
    } else if (event.key === "Enter") {
      decide();
    } else if (event.key === "u") {
      undo();
    } else if (event.key === "s") {
      skip();
    } else {
      return;
    }
    event.preventDefault();
  }

  // --- Start --------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", async () => {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", () => signOut());
    $("switch").addEventListener("click", switchProject);
    document.addEventListener("keydown", onKey);
    window.addEventListener("pagehide", releaseHeld);
    setInterval(renewHeld, RENEW_EVERY_MS);
    if (!state.key) {
      show("signin");
      $("key").focus();
      return;
    }
    const result = await api("GET", "/v1/projects");
    if (result.ok) showProjects(result.data);
  });
})();
