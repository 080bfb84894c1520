// Extraction: a form of the schema's fields, each filled with the model's value and marked with
// the model's confidence in it. A field the reviewer leaves alone keeps the model's value
// exactly; an emptied field is null ("not in the document").
"use strict";

import {
  $,
  SAVE_KEYS,
  aside,
  canonical,
  confidenceMark,
  el,
  keyHints,
  objectOr,
  plain,
  shown,
  showData,
} from "./dom.js";

function kindOf(prop) {
  if (Array.isArray(prop.enum)) return "enum";
  const declared = prop.type === undefined ? "string" : prop.type;
  const types = (Array.isArray(declared) ? declared : [declared]).filter((t) => t !== "null");
  return types[0] || "string";
}

function select(choices, value) {
  const box = el("select");
  box.append(el("option", "", "—"));
  choices.forEach((choice, index) => {
    const option = el("option", "", shown(choice));
    option.value = String(index);
    if (value !== null && canonical(value) === canonical(choice)) option.selected = true;
    box.append(option);
  });
  if (box.selectedIndex < 0) box.selectedIndex = 0;
  return box;
}

function control(prop, value) {
  const kind = kindOf(prop);
  if (kind === "enum") return select(prop.enum, value);
  if (kind === "boolean") return select([true, false], value);
  if (kind === "array") {
    const box = el("textarea");
    box.rows = 3;
    box.placeholder = "one value a line";
    box.value = Array.isArray(value) ? value.map(shown).join("\n") : "";
    return box;
  }
  const multiline = typeof value === "string" && value.includes("\n");
  const box = el(multiline ? "textarea" : "input");
  if (!multiline) box.type = "text";
  if (kind === "integer" || kind === "number") box.inputMode = "decimal";
  box.value = value === null || value === undefined ? "" : shown(value);
  return box;
}

function parseScalar(kind, prop, raw) {
  const text = raw.trim();
  if (kind === "enum") {
    const found = prop.enum.find((choice) => shown(choice) === text);
    if (found === undefined) return { error: `${JSON.stringify(text)} is not one of its values` };
    return { value: found };
  }
  if (kind === "integer") {
    return /^[-+]?\d+$/.test(text) ? { value: Number(text) } : { error: "must be a whole number" };
  }
  if (kind === "number") {
    const number = Number(text);
    return text !== "" && Number.isFinite(number) ? { value: number } : { error: "must be a number" };
  }
  if (kind === "boolean") {
    if (text !== "true" && text !== "false") return { error: "must be true or false" };
    return { value: text === "true" };
  }
  return { value: raw };
}

// The value a reviewer typed into the field's control, or {error}.
function parse(prop, box) {
  const kind = kindOf(prop);
  if (box.tagName === "SELECT") {
    const choices = kind === "enum" ? prop.enum : [true, false];
    return { value: box.value === "" ? null : choices[Number(box.value)] };
  }
  if (box.value.trim() === "") return { value: null };
  if (kind !== "array") return parseScalar(kind, prop, box.value);
  const itemProp = prop.items || {};
  const values = [];
  for (const line of box.value.split("\n").filter((l) => l.trim() !== "")) {
    const one = parseScalar(kindOf(itemProp), itemProp, line);
    if (one.error) return one;
    values.push(one.value);
  }
  return { value: values };
}

export function formatFields(value) {
  if (!value || typeof value !== "object") return String(value);
  const filled = Object.entries(value).map(([name, v]) => `${name}: ${v === null ? "—" : shown(v)}`);
  return filled.length ? filled.join("; ") : "(no fields)";
}

export function extractionEditor(task, held, ctx) {
  const properties = (task.schema && task.schema.properties) || {};
  const names = Object.keys(properties);
  const prediction = held.prediction;
  const model = objectOr(prediction && prediction.value);
  const parts = objectOr(prediction && prediction.parts);
  const boxes = new Map();
  const edited = new Set();

  function drawForm() {
    const form = el("form");
    form.id = "extract";
    form.addEventListener("submit", (event) => event.preventDefault());
    names.forEach((name, index) => {
      const prop = properties[name] || {};
      const value = name in model ? model[name] : null;
      const box = control(prop, value);
      box.id = `field-${index}`;
      box.dataset.field = name;
      box.addEventListener("input", () => edited.add(name));
      box.addEventListener("change", () => edited.add(name));
      boxes.set(name, box);
      const label = el("label", "", name);
      label.htmlFor = box.id;
      const part = parts[name];
      const row = el("div", "field-row");
      row.append(label, confidenceMark(part && typeof part === "object" ? part.confidence : null), box);
      if (prop.description) row.append(el("small", "muted", prop.description));
      form.append(row);
    });
    aside().append(form);
  }

  function onKey(event, typing) {
    if (!typing) {
      if (!plain(event) || event.key !== "e" || !names.length) return false;
      boxes.get(names[0]).focus();
      return true;
    }
    if (event.key === "Escape") {
      event.target.blur();
      $("text").focus();
      return true;
    }
    const inText = event.target.tagName === "TEXTAREA";
    const saves = event.key === "Enter" && (!inText || event.ctrlKey || event.metaKey);
    if (!saves) return false;
    ctx.decide();
    return true;
  }

  function chosen() {
    const value = {};
    for (const name of names) {
      if (!edited.has(name)) {
        value[name] = name in model ? model[name] : null;
        continue;
      }
      const parsed = parse(properties[name] || {}, boxes.get(name));
      if (parsed.error) {
        boxes.get(name).focus();
        return { error: `${name}: ${parsed.error}` };
      }
      value[name] = parsed.value;
    }
    return { value };
  }

  return {
    render() {
      showData(held.item.data || {}, task.text_field || "text");
      drawForm();
      keyHints([["e", "edit the fields"], ["Tab", "next field"], ["Esc", "leave the form"], ...SAVE_KEYS]);
    },
    onKey,
    chosen,
    same: (a, b) => canonical(a) === canonical(b),
    format: formatFields,
  };
}
