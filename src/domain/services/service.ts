/** A platform service: it belongs to one team and receives the incidents its API filter accepts. */
export type Service = {
  readonly id: string;
  readonly teamId: string;
  readonly name: string;
  readonly description: string;
  readonly apiFilter: unknown | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
};
