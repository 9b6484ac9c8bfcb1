/** quickstart-app.gtpack (base64), written by test/workers/upstream-packs.global-setup.ts; '' when the fixture is absent. */
export declare const QUICKSTART_APP_PACK: string;
