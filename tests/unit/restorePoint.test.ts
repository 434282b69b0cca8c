import * as assert from "assert";
import { CATALOGS } from "../../catalog";
import { Product } from "../../catalog/types";
import { planChange, PlanRefused } from "../../plan";

// Issue 6: nothing that the running version's data lives in is touched before a verified backup of
// it exists. Walks every product's catalog: every pair of releases (from < to) that the catalog
// allows must plan the restore point first, and every destructive step only after its verify.
describe("restore point first, in every product's every upgrade plan", () => {
    for (const product of Object.keys(CATALOGS) as Product[]) {
        it(`${product}: every allowed upgrade starts with preflight, backup, verify, and no point of no return comes before them`, () => {
            const catalog = CATALOGS[product]!;
            let checked = 0;
            for (const from of catalog.versions) {
                const deployed = planChange({ catalog, to: from }).next;
                for (const to of catalog.versions.filter(
                    (v) => catalog.versions.indexOf(v) > catalog.versions.indexOf(from),
                )) {
                    let plan;
                    try {
                        plan = planChange({ catalog, to, deployed, backupPolicy: { offsite: true, keep: 3 } });
                    } catch (e) {
                        if (e instanceof PlanRefused) continue; // a jump the vendor does not support
                        throw e;
                    }
                    checked++;
                    const kinds = plan.steps.map((s) => s.kind);
                    assert.deepStrictEqual(
                        kinds.slice(0, 3),
                        ["preflight", "backup", "verify-backup"],
                        `${product} ${from} -> ${to}: ${kinds.join(", ")}`,
                    );
                    assert.deepStrictEqual(
                        kinds.slice(3, 5),
                        ["push", "prune"],
                        `${product} ${from} -> ${to}: off-site copy and retention right after the verify`,
                    );
                    const verified = kinds.indexOf("verify-backup");
                    plan.steps.forEach((s, i) => {
                        if (!s.reversible && s.kind !== "prune")
                            assert.ok(
                                i > verified,
                                `${product} ${from} -> ${to}: ${s.id} before the verified restore point`,
                            );
                    });
                }
            }
            assert.ok(checked > 10, `${product}: only ${checked} upgrade pairs checked`);
        });
    }
});
