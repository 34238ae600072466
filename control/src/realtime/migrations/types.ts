/** One schema step. `id` orders them; the SQL runs in one transaction. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}
