declare module 'greentic:component/component-i18n@0.6.0' {
  export function i18nKeys(): Array<string>;
}
