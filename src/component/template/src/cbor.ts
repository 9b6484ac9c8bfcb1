// In this repository the template uses the project's codec; `greentic-component new` writes a
// copy of src/pack/cbor.ts here so a generated component builds on its own.
export { decodeCbor, encodeCanonicalCbor } from '../../../pack/cbor.js';
