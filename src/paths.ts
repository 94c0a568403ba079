import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (this file sits in src/ or dist/, one level below it). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const defaultConfigPath = path.join(packageRoot, 'config', 'default.yaml');
/** The packaged-expression model that config/default.yaml loads. */
export const defaultModelDir = path.join(packageRoot, 'config', 'models', 'default-expressions');
/** Both packaged expression classifiers as one ensemble: the reference of `daemon bench expressions`. */
export const packagedTeachersDir = path.join(packageRoot, 'config', 'models', 'packaged-teachers');
/** The real test media committed with the project (MIT; licences in its README): the benchmarks' default inputs. */
export const testMediaDir = path.join(packageRoot, 'test', 'fixtures', 'media');
/** The built-in model catalogue of `daemon models pull`. */
export const builtinCatalogPath = path.join(packageRoot, 'config', 'model-catalog.json');
