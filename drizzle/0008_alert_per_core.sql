ALTER TABLE "alert_rules" ADD COLUMN "per_core" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "alert_states" ADD COLUMN "threshold" double precision;