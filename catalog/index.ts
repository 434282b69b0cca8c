// Every product catalog upshift knows, by product (one line each).
import { cvatCatalog } from "./cvat";
import { Product, ProductCatalog } from "./types";

export const CATALOGS: Partial<Record<Product, ProductCatalog>> = {
    cvat: cvatCatalog,
};
