// Every product catalog upshift knows, by product (one line each).
import { clearmlDefaultCatalog } from "./clearml";
import { cvatCatalog } from "./cvat";
import { kwdbCatalog } from "./kwdb";
import { Product, ProductCatalog } from "./types";

export const CATALOGS: Partial<Record<Product, ProductCatalog>> = {
    cvat: cvatCatalog,
    kwdb: kwdbCatalog,
    clearml: clearmlDefaultCatalog,
};
