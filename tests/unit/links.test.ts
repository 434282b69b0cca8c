import * as assert from "assert";
import { pointsOut } from "../../hooks/volumes/links";

describe("links pointing out of a restored target (hooks/volumes/links.ts pointsOut)", () => {
    it("absolute targets and relative ones that climb above the root point out", () => {
        assert.strictEqual(pointsOut("./evil", "/etc"), true);
        assert.strictEqual(pointsOut("./up", "../../outside"), true);
        assert.strictEqual(pointsOut("./a/b", "../../x"), true);
        assert.strictEqual(pointsOut("./a/b", "../../../x"), true);
        assert.strictEqual(pointsOut("a", ".."), true);
    });
    it("relative targets that stay inside do not", () => {
        assert.strictEqual(pointsOut("./a/b", "../x"), false);
        assert.strictEqual(pointsOut("./a/b/c", "../../x/y"), false);
        assert.strictEqual(pointsOut("./link", "data/raw/1.jpg"), false);
        assert.strictEqual(pointsOut("./a/link", "."), false);
        assert.strictEqual(pointsOut("./a/link", "./b/../c"), false);
    });
});
