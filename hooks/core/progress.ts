// Progress of long operations (bytes, rate) on stderr, at most one line per interval so a step's
// log stays readable; stdout is kept for the final JSON line (docs/hooks-cli.md).
import { Transform, TransformCallback } from "stream";
import { progressMs } from "./settings";

export interface ProgressOptions {
    /** Total bytes expected, when known: adds a percentage. */
    readonly total?: number;
    /** Minimum milliseconds between two lines. Default 2000, or UPSHIFT_PROGRESS_MS. */
    readonly intervalMs?: number;
    /** Where lines go. Default process.stderr. */
    readonly write?: (line: string) => void;
}

export class Progress {
    private bytes = 0;
    private readonly started = Date.now();
    private last = 0;
    private readonly intervalMs: number;
    private readonly write: (line: string) => void;

    constructor(
        private readonly label: string,
        private readonly opts: ProgressOptions = {},
    ) {
        this.intervalMs = opts.intervalMs ?? progressMs(2000);
        this.write = opts.write ?? ((l) => process.stderr.write(l + "\n"));
        this.last = this.started;
    }

    /** Counts n more bytes; prints a line when the interval has passed. */
    add(n: number): void {
        this.bytes += n;
        const now = Date.now();
        if (now - this.last >= this.intervalMs) {
            this.last = now;
            this.write(this.line(now));
        }
    }

    /** Prints the final line (total and average rate) and returns the byte count. */
    done(suffix = "done"): number {
        this.write(`${this.line(Date.now())} ${suffix}`);
        return this.bytes;
    }

    get count(): number {
        return this.bytes;
    }

    /** A pass-through stream that counts what flows through it. */
    meter(): Transform {
        return new Transform({
            transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
                this.add(chunk.length);
                cb(null, chunk);
            },
        });
    }

    private line(now: number): string {
        const secs = Math.max((now - this.started) / 1000, 0.001);
        const pct = this.opts.total ? ` (${Math.min(100, (100 * this.bytes) / this.opts.total).toFixed(0)}%)` : "";
        return `${this.label}: ${formatBytes(this.bytes)}${pct} in ${secs.toFixed(1)} s, ${formatBytes(this.bytes / secs)}/s`;
    }
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
