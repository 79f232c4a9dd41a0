-- MySQL dump 10.13  Distrib 8.0.40, for Linux (x86_64)
--
-- Host: db-prod-01.internal    Database: bwf_portal
-- ------------------------------------------------------
-- Server version	8.0.40

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!50503 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Table structure for table `customers`
--

DROP TABLE IF EXISTS `customers`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `customers` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `account_no` varchar(16) NOT NULL,
  `company_name` varchar(255) NOT NULL,
  `contact_name` varchar(255) DEFAULT NULL,
  `email` varchar(255) NOT NULL,
  `phone` varchar(32) DEFAULT NULL,
  `billing_address` varchar(255) DEFAULT NULL,
  `city` varchar(100) DEFAULT NULL,
  `state` char(2) DEFAULT NULL,
  `postal_code` varchar(10) DEFAULT NULL,
  `payment_terms` enum('prepaid','net15','net30','net45') NOT NULL DEFAULT 'net30',
  `credit_limit` decimal(12,2) NOT NULL DEFAULT '0.00',
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `customers_account_no_unique` (`account_no`),
  KEY `customers_company_name_index` (`company_name`)
) ENGINE=InnoDB AUTO_INCREMENT=6 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `customers`
--

LOCK TABLES `customers` WRITE;
/*!40000 ALTER TABLE `customers` DISABLE KEYS */;
INSERT INTO `customers` VALUES (1,'BWF-10217','Cascade Timber Products LLC','Rachel Dunn','shipping@cascadetimber.example.com','(541) 555-0118','4410 Mill Race Rd','Eugene','OR','97402','net30',75000.00,'2021-04-06 18:22:10','2026-09-14 21:03:55'),(2,'BWF-10342','Columbia Gorge Orchards','Luis Ortega','logistics@gorgeorchards.example.com','(541) 555-0173','1800 Country Club Rd','Hood River','OR','97031','net15',40000.00,'2021-08-19 16:45:02','2026-10-30 15:11:47'),(3,'BWF-10588','Puget Marine Supply Co.','Karen Yamamoto','ap@pugetmarine.example.com','(253) 555-0190','925 E 11th St','Tacoma','WA','98421','net45',120000.00,'2022-02-02 19:30:41','2026-11-03 17:52:08'),(4,'BWF-10613','Willamette Valley Creamery','Ben Hollister','orders@wvcreamery.example.com','(503) 555-0127','3320 Portland Rd NE','Salem','OR','97301','prepaid',0.00,'2022-06-27 15:08:19','2026-07-22 20:40:31'),(5,'BWF-10759','Summit Outdoor Gear Inc.','Alyssa Park','freight@summitoutdoor.example.com','(541) 555-0164','62980 Boyd Acres Rd','Bend','OR','97701','net30',60000.00,'2023-03-13 17:55:26','2026-11-18 22:14:05');
/*!40000 ALTER TABLE `customers` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `settings`
--

DROP TABLE IF EXISTS `settings`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `settings` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `group` varchar(64) NOT NULL,
  `key` varchar(128) NOT NULL,
  `value` text,
  `is_encrypted` tinyint(1) NOT NULL DEFAULT '0',
  `updated_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `settings_group_key_unique` (`group`,`key`)
) ENGINE=InnoDB AUTO_INCREMENT=15 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `settings`
--

LOCK TABLES `settings` WRITE;
/*!40000 ALTER TABLE `settings` DISABLE KEYS */;
INSERT INTO `settings` VALUES (1,'general','company_name','Brightwater Freight, Inc.',0,'2021-03-15 16:04:12'),(2,'general','support_email','support@brightwater-freight.example',0,'2021-03-15 16:04:12'),(3,'general','dispatch_phone','(503) 555-0142',0,'2021-03-15 16:04:12'),(4,'mail','smtp_host','smtp.office365.com',0,'2023-01-09 18:31:40'),(5,'mail','smtp_port','587',0,'2023-01-09 18:31:40'),(6,'mail','smtp_username','noreply@brightwater-freight.example',0,'2023-01-09 18:31:40'),(7,'mail','smtp_password','{{mail_password}}',0,'2025-06-02 16:20:57'),(8,'payments','gateway','stripe',0,'2022-05-11 20:12:03'),(9,'payments','stripe_secret_key','{{stripe_secret}}',0,'2025-02-18 23:45:19'),(10,'payments','currency','usd',0,'2022-05-11 20:12:03'),(11,'tracking','api_base_url','http://tracking-api.internal:8081/v2',0,'2024-08-27 17:03:36'),(12,'rates','fuel_surcharge_pct','27.5',0,'2026-11-02 15:00:00'),(13,'portal','session_timeout_min','30',0,'2022-09-30 21:48:14'),(14,'portal','maintenance_mode','0',0,'2026-10-19 06:12:44');
/*!40000 ALTER TABLE `settings` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `users`
--

DROP TABLE IF EXISTS `users`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `users` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `username` varchar(64) NOT NULL,
  `email` varchar(255) NOT NULL,
  `email_verified_at` timestamp NULL DEFAULT NULL,
  `password` varchar(255) NOT NULL,
  `role` enum('admin','ops','dispatch','billing','customer') NOT NULL DEFAULT 'customer',
  `api_token` varchar(80) DEFAULT NULL,
  `remember_token` varchar(100) DEFAULT NULL,
  `is_active` tinyint(1) NOT NULL DEFAULT '1',
  `last_login_at` timestamp NULL DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `users_username_unique` (`username`),
  UNIQUE KEY `users_email_unique` (`email`),
  UNIQUE KEY `users_api_token_unique` (`api_token`)
) ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `users`
--

LOCK TABLES `users` WRITE;
/*!40000 ALTER TABLE `users` DISABLE KEYS */;
INSERT INTO `users` VALUES (1,'IT Administrator','admin','it-admin@brightwater-freight.example','2021-03-15 16:05:31','$2y$10$9BBhlF68b5.rjclfhqsdTe6LCCcFqPGhd1FK04qThVRhXxDq95zxy','admin','{{api_token}}',NULL,1,'2026-11-26 17:42:11','2021-03-15 16:02:44','2026-11-26 17:42:11'),(2,'Jessica Morales','jmorales','j.morales@brightwater-freight.example','2021-03-16 15:10:07','$2y$10$Mbcbs8RwFqvThqH9O/mD3eFAPDbOY5FolafE9c30km/6nTcKor0Hy','ops',NULL,NULL,1,'2026-11-26 23:03:58','2021-03-16 15:09:40','2026-11-26 23:03:58'),(3,'Daniel Okafor','dokafor','d.okafor@brightwater-freight.example','2022-01-10 16:27:45','$2y$10$Qs7DKW7lu/CEogp3.fejlu1jEnygrYAhgIS8Ampgh99QuRf0oBEbS','dispatch',NULL,NULL,1,'2026-11-27 01:30:21','2022-01-10 16:25:13','2026-11-27 01:30:21'),(4,'Priya Raman','praman','p.raman@brightwater-freight.example','2022-07-05 17:40:02','$2y$10$xN7ei.KBKR1fVVKI5hM7muVULd3Q5Kuz0Xu5uc.ACDG9IRxvyUkji','billing',NULL,NULL,1,'2026-11-25 22:18:37','2022-07-05 17:38:50','2026-11-25 22:18:37'),(5,'Tom Lindqvist','tlindqvist','t.lindqvist@brightwater-freight.example','2023-04-17 14:55:19','$2y$10$qv/xzOz2E./lHPUa//4HW.h64eb/jqQnogRenaRqaj1kJ3uvN1FOW','ops',NULL,NULL,1,'2026-11-20 16:44:02','2023-04-17 14:52:36','2026-11-20 16:44:02'),(6,'Marcus Bell','mbell','m.bell@brightwater-freight.example','2023-09-11 15:02:48','$2y$10$kWZXGLGKpDQrgf1qqrIqBeni5d97r7yD0wp9do2mWE0E9sLJk4yWy','dispatch',NULL,NULL,0,'2025-12-19 23:51:30','2023-09-11 15:01:12','2026-01-05 17:20:09');
/*!40000 ALTER TABLE `users` ENABLE KEYS */;
UNLOCK TABLES;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-11-27  2:14:09
