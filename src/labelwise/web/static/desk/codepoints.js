// Offsets as the API counts them (Python strings: code points) and as the DOM counts them
// (JavaScript strings: UTF-16 code units). A character outside the Basic Multilingual Plane (most
// emoji) is one code point but two code units, so every offset that crosses between the page and
// the API goes through here.
"use strict";

// The code point index at UTF-16 offset `unit` of `text`. An offset that falls between the two
// halves of a pair snaps to the character's start ("floor") or its end ("ceil").
export function unitToPoint(text, unit, round = "floor") {
  let points = 0;
  let i = 0;
  while (i < unit && i < text.length) {
    const width = text.codePointAt(i) > 0xffff ? 2 : 1;
    if (i + width > unit) return round === "ceil" ? points + 1 : points;
    i += width;
    points += 1;
  }
  return points;
}

// The UTF-16 offset of code point index `point` in `text`.
export function pointToUnit(text, point) {
  let i = 0;
  for (let p = 0; p < point && i < text.length; p += 1) {
    i += text.codePointAt(i) > 0xffff ? 2 : 1;
  }
  return i;
}

const WORD = /[\p{L}\p{N}_]/u;

// Where a word-wise move from `at` lands in the code points `points`: the end of the next word
// (step 1) or the start of the previous one (step -1).
export function wordStop(points, at, step) {
  let i = at;
  if (step > 0) {
    while (i < points.length && !WORD.test(points[i])) i += 1;
    while (i < points.length && WORD.test(points[i])) i += 1;
  } else {
    while (i > 0 && !WORD.test(points[i - 1])) i -= 1;
    while (i > 0 && WORD.test(points[i - 1])) i -= 1;
  }
  return i;
}

// [start, end) shrunk past white space at either end, as a reviewer means a selection that
// caught a space.
export function trimmed(points, start, end) {
  let a = start;
  let b = end;
  while (a < b && /\s/u.test(points[a])) a += 1;
  while (b > a && /\s/u.test(points[b - 1])) b -= 1;
  return [a, b];
}
