// The meta.sql transform of a KWDB 2.x export before it is imported into 3.x: 3.1 no longer
// accepts PARTITION INTERVAL (product-catalog.md) and 3.0 has no custom intervals (3.0.0 release notes). Pure.
// Only SQL is touched: string literals, quoted identifiers and comments are left exactly as they are.

export interface MetaTransform {
    readonly text: string;
    /** How many PARTITION INTERVAL clauses were removed. */
    readonly removed: number;
}

/**
 * A copy of `sql` with the contents of string literals, quoted identifiers and comments replaced by
 * NUL (same length, quotes kept), so patterns only ever match SQL itself.
 */
export function maskSql(sql: string): string {
    const out = sql.split("");
    let i = 0;
    const blank = (from: number, to: number) => {
        for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = "\0";
    };
    while (i < sql.length) {
        const c = sql[i];
        if (c === "'" || c === '"') {
            // '' (or "") inside a literal is an escaped quote, not its end.
            let j = i + 1;
            for (;;) {
                if (j >= sql.length) break;
                if (sql[j] === c) {
                    if (sql[j + 1] === c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j++;
            }
            blank(i + 1, j);
            i = j + 1;
        } else if (c === "-" && sql[i + 1] === "-") {
            const j = sql.indexOf("\n", i);
            const end = j < 0 ? sql.length : j;
            blank(i, end);
            i = end;
        } else if (c === "/" && sql[i + 1] === "*") {
            const j = sql.indexOf("*/", i + 2);
            const end = j < 0 ? sql.length : j + 2;
            blank(i, end);
            i = end;
        } else {
            i++;
        }
    }
    return out.join("");
}

// A value is a number with its unit (`10d`, `15S`, `100MINUTE`) or a quoted literal. The whitespace
// before the clause goes with it, so `activetime 1d\n\tpartition interval 10d;` ends `activetime 1d;`.
const CLAUSE = /[ \t\r\n]*\bPARTITION[ \t\r\n]+INTERVAL\b[ \t\r\n]*(?:=[ \t\r\n]*)?(?:\d+[A-Za-z]*|'\0*')/gi;
// `ALTER TS DATABASE d SET PARTITION INTERVAL = 15S;` has nothing left once the clause is gone.
const EMPTY_ALTER = /[ \t\r\n]*\bALTER\b[^;]*\bSET[ \t\r\n]*;/gi;

function removeMatches(text: string, pattern: RegExp): { text: string; count: number } {
    const masked = maskSql(text);
    let out = "";
    let last = 0;
    let count = 0;
    for (const m of masked.matchAll(pattern)) {
        out += text.slice(last, m.index);
        last = m.index! + m[0].length;
        count++;
    }
    return { text: out + text.slice(last), count };
}

/** Removes every PARTITION INTERVAL clause from a 2.x meta.sql (and an ALTER left with nothing to set). */
export function stripPartitionInterval(sql: string): MetaTransform {
    const first = removeMatches(sql, CLAUSE);
    const second = first.count ? removeMatches(first.text, EMPTY_ALTER) : first;
    return { text: second.text, removed: first.count };
}

/** True when SQL (not literals or comments) still has a PARTITION INTERVAL clause. */
export function hasPartitionInterval(sql: string): boolean {
    return /\bPARTITION\s+INTERVAL\b/i.test(maskSql(sql));
}
