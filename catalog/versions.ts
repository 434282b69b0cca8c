// Version comparison for catalogs and the planner (semver order).
import * as semver from "semver";

export const cmp = (a: string, b: string): number => semver.compare(a, b);
export const lt = (a: string, b: string): boolean => semver.lt(a, b);
export const gte = (a: string, b: string): boolean => semver.gte(a, b);
/** a <= v <= b, inclusive on both ends. */
export const within = (v: string, a: string, b: string): boolean => semver.gte(v, a) && semver.lte(v, b);
export const isSemver = (v: string): boolean => semver.valid(v) === v;

/** Picks the entry whose `from` is the greatest not above `version` (ranges given by their start). */
export function byRange<E extends readonly [string, unknown]>(version: string, table: readonly E[]): E[1] {
    let found: E | undefined;
    for (const entry of table) if (semver.gte(version, entry[0])) found = entry;
    if (found === undefined) throw new Error(`no catalog entry for version ${version}`);
    return found[1];
}
