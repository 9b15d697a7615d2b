# One customer-managed key encrypts the bucket, the table, the topics, the secrets, the image
# repository, the database and the logs, so access to the data can be cut in one place.

data "aws_iam_policy_document" "platform_key" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" is the key itself; the account-root statement is AWS's default key policy, and access is then granted by the roles' IAM policies.
  #checkov:skip=CKV_AWS_356:In a key policy Resource must be "*" (it means this key).
  #checkov:skip=CKV_AWS_109:The account root must be able to manage its own key, else the key becomes unmanageable.
  # Key policies need Resource "*" (it means this key). The account keeps full control through
  # IAM, as in the default key policy; the services below may use the key on the account's behalf.
  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsThePlatformsLogGroups"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "platform" {
  description             = "${local.name}: bucket, table, topics, secrets, images, database and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.platform_key.json
}

resource "aws_kms_alias" "platform" {
  name          = "alias/${local.name}-platform"
  target_key_id = aws_kms_key.platform.key_id
}
