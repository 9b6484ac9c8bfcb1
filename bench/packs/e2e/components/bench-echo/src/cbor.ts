// Inside this repository the component uses the project's codec (a project made by
// `greentic-component new` gets its own copy of src/pack/cbor.ts here instead).
export { decodeCbor, encodeCanonicalCbor } from '../../../../../../src/pack/cbor.js';
