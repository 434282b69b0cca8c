// The maintainer's tool for keeping the catalogs with the vendors' compose files (docs/catalog.md):
//   facts <product>                      rewrite tests/unit/fixtures/upstream/<product>.json from
//                                        reference/upstream/<product>/*.yml (releases the catalog knows)
//   check <product> <file.yml> <version> show how the catalog's entry for <version> differs from <file.yml>
// Exit status: 0 agreed / written, 1 differences found, 2 bad usage.
import * as fs from "fs";
import * as path from "path";
import { CATALOGS } from "../../catalog";
import { DELIBERATE } from "../../catalog/deliberate";
import { Product } from "../../catalog/types";
import { diffFacts, expectedFacts } from "./compare";
import { ComposeFacts, composeFacts, packFacts } from "./facts";
import { catalogFacts } from "./catalogFacts";

/** Compose's project name when the file sets none: the directory the vendor's instructions leave it in. */
export const PROJECT_DIR: Readonly<Record<string, string>> = { cvat: "cvat", clearml: "clearml" };
const UPSTREAM =
    process.env.UPSHIFT_UPSTREAM ?? path.join(__dirname, "..", "..", "..", "shared", "reference", "upstream");
export const FIXTURES = path.join(__dirname, "..", "..", "tests", "unit", "fixtures", "upstream");

/** Release name of a vendor file: `1.10.yml` is ClearML's tag 1.10, i.e. 1.10.0. */
const release = (file: string) => {
    const v = path.basename(file, ".yml");
    return /^\d+\.\d+$/.test(v) ? `${v}.0` : v;
};

function writeFacts(product: Product): void {
    const catalog = CATALOGS[product]!;
    const dir = path.join(UPSTREAM, product);
    const out: Record<string, ComposeFacts> = {};
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".yml"))) {
        const v = release(file);
        const text = fs.readFileSync(path.join(dir, file), "utf8");
        if (!catalog.versions.includes(v) || text.trim() === "") continue;
        out[v] = composeFacts(text, PROJECT_DIR[product]);
    }
    const releases = catalog.versions.filter((v) => out[v]);
    const fixture = packFacts(Object.fromEntries(releases.map((v) => [v, out[v]])));
    fs.mkdirSync(FIXTURES, { recursive: true });
    const target = path.join(FIXTURES, `${product}.json`);
    fs.writeFileSync(target, `${JSON.stringify(fixture, null, 1)}\n`);
    console.log(`${target}: ${releases.length} releases, ${Object.keys(fixture.facts).length} distinct containers`);
}

function check(product: Product, file: string, version: string): number {
    const catalog = CATALOGS[product]!;
    if (!catalog.versions.includes(version)) {
        console.log(
            `${product} ${version} is not in the catalog: add it to ${product === "cvat" ? "CVAT_VERSIONS" : "the versions list"} in catalog/${product}.ts, then rerun`,
        );
        return 1;
    }
    const vendor = composeFacts(fs.readFileSync(file, "utf8"), PROJECT_DIR[product]);
    const { services, applied } = expectedFacts(version, vendor.services, DELIBERATE[product] ?? []);
    const diffs = diffFacts(services, catalogFacts(catalog, version));
    for (const d of diffs) console.log(d);
    console.log(
        `${product} ${version}: ${diffs.length} differences (deliberate, applied: ${[...applied].join(", ") || "none"})`,
    );
    return diffs.length ? 1 : 0;
}

function main(argv: string[]): number {
    const [cmd, product, ...rest] = argv;
    if (cmd === "facts" && product && CATALOGS[product as Product]) {
        writeFacts(product as Product);
        return 0;
    }
    if (cmd === "check" && product && CATALOGS[product as Product] && rest.length === 2)
        return check(product as Product, rest[0], rest[1]);
    console.error("usage: compose-facts facts <cvat|clearml> | check <cvat|clearml> <docker-compose.yml> <version>");
    return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
