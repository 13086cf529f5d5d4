// The shape of a role catalogue entry.

export interface RoleDefinition {
  readonly title: string;
  readonly permissions: readonly string[];
}

export type RoleTable = Readonly<Record<string, RoleDefinition>>;
