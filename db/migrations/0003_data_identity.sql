CREATE TABLE "data_identity" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"identity" uuid NOT NULL,
	"bound_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "data_identity_one_row" CHECK ("data_identity"."id" = 1)
);
