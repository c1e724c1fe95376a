/**
 * Which campaigns exist, for the decode step: an event naming no campaign is dead-lettered
 * (`unknown-campaign`) rather than written. Known campaigns are remembered for `ttlMs`; an unknown
 * one is asked again every time, so a campaign created a moment ago is found at once.
 */
import type { Queryable } from '../../shared/src/pg/gateway.js';

export class CampaignDirectory {
  private readonly known = new Map<string, number>();

  constructor(
    private readonly db: Queryable,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async exists(campaignId: string): Promise<boolean> {
    const seen = this.known.get(campaignId);
    if (seen !== undefined && this.now() - seen < this.ttlMs) return true;
    const { rowCount } = await this.db.query('campaigns.exists', 'SELECT 1 FROM campaigns WHERE id = $1', [
      campaignId,
    ]);
    if ((rowCount ?? 0) > 0) {
      if (this.known.size > 100_000) this.known.clear();
      this.known.set(campaignId, this.now());
      return true;
    }
    this.known.delete(campaignId);
    return false;
  }
}
