CREATE TABLE "silences" (
	"id" serial PRIMARY KEY NOT NULL,
	"node_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"label" text,
	"event_types" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"starts_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"reason" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"start_logged" boolean DEFAULT false NOT NULL,
	"end_logged" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX "silences_ends_at_idx" ON "silences" USING btree ("ends_at");