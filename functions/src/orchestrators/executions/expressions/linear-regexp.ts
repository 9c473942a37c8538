/**
 * Regular expressions of user expressions run on RE2 (re2js, pure JS), whose
 * matching time is linear in the input: `/(a|aa)+$/` on 42 `a`s and a `!`
 * takes microseconds, where the backtracking RegExp took 79 s. JSONata lets
 * the engine be swapped (`RegexEngine` option): it constructs one per regex
 * literal it evaluates and calls only `exec` with `lastIndex`, as on a global
 * RegExp, so that is all this class provides.
 *
 * The pattern is still written in JavaScript syntax (JSONata's tokenizer makes
 * a RegExp of it first); re2js translates it. What RE2 cannot express
 * (backreferences, lookahead and lookbehind) is refused when the expression
 * is compiled, so an author learns it when the use case is saved.
 */
import { type Matcher, RE2JS } from 're2js';

/** Compiled once per regex literal: JSONata re-creates the engine each time the literal is evaluated. */
const compiled = new WeakMap<RegExp, RE2JS>();

function linear(regexp: RegExp): RE2JS {
  let pattern = compiled.get(regexp);
  if (!pattern) {
    pattern = RE2JS.compile(RE2JS.translateRegExp(regexp));
    compiled.set(regexp, pattern);
  }
  return pattern;
}

/** Why RE2 cannot run this pattern (a backreference, a lookaround), or null when it can. */
export function linearRegExpProblem(regexp: RegExp): string | null {
  try {
    linear(regexp);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The RegExp subset JSONata uses, matched by RE2. */
export class LinearRegExp {
  lastIndex = 0;
  readonly #pattern: RE2JS;
  #input: string | undefined;
  #matcher: Matcher | undefined;

  constructor(regexp: RegExp) {
    this.#pattern = linear(regexp);
  }

  exec(input: string): (Array<string | undefined> & { index: number }) | null {
    // One matcher per input: JSONata walks the matches of one string in order ($match, $replace, $split).
    if (this.#matcher === undefined || this.#input !== input) {
      this.#matcher = this.#pattern.matcher(input);
      this.#input = input;
    }
    const matcher = this.#matcher;
    if (this.lastIndex > input.length || !matcher.find(this.lastIndex)) {
      this.lastIndex = 0;
      return null;
    }
    const groups: Array<string | undefined> = [];
    for (let i = 0; i <= matcher.groupCount(); i++) groups.push(matcher.group(i) ?? undefined);
    this.lastIndex = matcher.end();
    return Object.assign(groups, { index: matcher.start() });
  }
}
