import { type ErrorSpec } from '@sealroom/core';
interface Row {
  readonly pkg: string;
  readonly code: string;
  readonly spec: ErrorSpec;
}
export declare function collectErrorRows(): Promise<Row[]>;
export declare function renderErrorsDoc(): Promise<string>;
